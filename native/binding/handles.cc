// handles.cc - context handles of one load: the table of records, generations that make stale
// handles name nothing, and the record tree a reset or delete walks.
#include "binding.h"

#include <algorithm>
#include <cmath>

namespace memctx {

double HandleOf(const Rec *rec) { return static_cast<double>(rec->gen) * kIndexSpan + rec->index; }

Rec *FindRec(Napi::Env env, Load *load, const Napi::Value &v, bool mustBeLive) {
  double h = ToDouble(v, -1);
  if (!(h >= 0) || h >= kIndexSpan * kMaxGen) {
    ThrowInternal(env, "not a memctx context handle");
    return nullptr;
  }
  double genD = std::floor(h / kIndexSpan);
  size_t index = static_cast<size_t>(h - genD * kIndexSpan);
  Rec *rec = index < load->table.size() ? load->table[index] : nullptr;
  if (rec == nullptr || rec->gen != static_cast<uint32_t>(genD) || rec->ctx == nullptr) {
    if (mustBeLive) ThrowStatus(env, load, MCX_EDELETED, "context");
    return nullptr;
  }
  return rec;
}

Rec *AcquireRec(Load *load) {
  Rec *rec;
  if (!load->freeIdx.empty()) {
    rec = load->table[load->freeIdx.back()];
    load->freeIdx.pop_back();
  } else {
    if (load->table.size() >= static_cast<size_t>(kIndexSpan)) return nullptr;
    rec = new Rec();
    rec->index = static_cast<uint32_t>(load->table.size());
    load->table.push_back(rec);
  }
  rec->load = load;
  load->liveCount++;
  return rec;
}

// The record goes back to the table; its generation moves on so old handles stop naming it.
// Its slots must have been freed or parked by the caller.
void ReleaseRec(Rec *rec) {
  Load *load = rec->load;
  rec->ctx = nullptr;
  rec->parent = nullptr;
  rec->children.clear();
  rec->slots.clear();
  rec->detachCursor = 0;
  rec->slotsCompactAt = 64;
  rec->curChunk = nullptr;
  rec->offsetUnreported = false;
  rec->gen = (rec->gen + 1) % kMaxGen;
  load->freeIdx.push_back(rec->index);
  load->liveCount--;
}

void Subtree(Rec *rec, std::vector<Rec *> &out) {
  out.clear();
  out.push_back(rec);
  for (size_t i = 0; i < out.size(); i++) {
    for (Rec *c : out[i]->children) out.push_back(c);
  }
}

// Unlinking is O(siblings); a parent with many children deleted one by one is the facade's
// per-request pattern only for roots, which have no siblings list.
void Unlink(Rec *rec) {
  if (rec->parent != nullptr) {
    auto &sib = rec->parent->children;
    auto it = std::find(sib.begin(), sib.end(), rec);
    if (it != sib.end()) {
      *it = sib.back();
      sib.pop_back();
    }
    rec->parent = nullptr;
  }
}

}  // namespace memctx
