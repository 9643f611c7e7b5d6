// test/js/stats.test.ts - memoryStats() carries every field of the C X-macro list (parsed from
// memctx.h here, so a new field cannot be forgotten), resident bytes and the process RSS;
// ctx.stats() reports the chunk chain in forwarding order and the children.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemoryContext, memoryStats, trim, getConfiguration } from '../../lib';
import { vmRssBytes } from './support/rss';

const header = fs.readFileSync(path.join(__dirname, '..', '..', 'native', 'include', 'memctx.h'), 'utf8');
const listText = /#define MCX_GLOBAL_STATS_LIST\(X\)([\s\S]*?)\n\n/.exec(header)![1]!;
const cFields = [...listText.matchAll(/X\(\w+,\s*"(\w+)"/g)].map((m) => m[1]!);

test('memoryStats() has every C global statistic as a number', () => {
  expect(cFields.length).toBeGreaterThan(10);
  const s = memoryStats() as unknown as Record<string, unknown>;
  for (const f of cFields) {
    expect(typeof s[f]).toBe('number');
    expect(s[f] as number).toBeGreaterThanOrEqual(0);
  }
});

test('mapped, resident and process RSS sit side by side and move with allocation', () => {
  // Nothing retained from earlier tests: their warm pages would absorb part of the allocation.
  trim();
  const ctx = new MemoryContext();
  const before = memoryStats();
  for (let i = 0; i < 64; i++) ctx.alloc(512 * 1024, 1);
  const rssBeforeBytes = vmRssBytes();
  const after = memoryStats();
  const rssAfterBytes = vmRssBytes();
  expect(after.chunkBytes - before.chunkBytes).toBeGreaterThanOrEqual(30 * 1024 * 1024);
  // The new chunks come from new mappings or from room already mapped: a top chunk that an
  // ArrayBuffer of an earlier test file in this worker still holds stays mapped (trim() can only
  // decommit its free runs), so the mapping need not grow by all of them.
  const roomBefore = before.mappedBytes - before.chunkBytes - before.metaBytes;
  expect(after.mappedBytes - before.mappedBytes + roomBefore).toBeGreaterThanOrEqual(30 * 1024 * 1024);
  expect(after.mappedBytes).toBeGreaterThanOrEqual(after.chunkBytes + after.metaBytes);
  expect(after.residentBytes - before.residentBytes).toBeGreaterThanOrEqual(30 * 1024 * 1024);
  expect(after.residentBytes).toBeLessThanOrEqual(after.mappedBytes);
  expect(after.peakMappedBytes).toBeGreaterThanOrEqual(after.mappedBytes);
  // rssBytes is the process VmRSS: between the readings just before and after it, give or take
  // 8 MiB (V8's threads may map or drop memory meanwhile, by tens of MiB on a loaded machine)
  expect(after.rssBytes).toBeGreaterThan(Math.min(rssBeforeBytes, rssAfterBytes) - 8 * 1024 * 1024);
  expect(after.rssBytes).toBeLessThan(Math.max(rssBeforeBytes, rssAfterBytes) + 8 * 1024 * 1024);
  expect(after.rssBytes).toBeGreaterThan(after.residentBytes);
  const tops = after.topChunks;
  expect(tops.length).toBeGreaterThan(0);
  expect(tops.reduce((n, t) => n + t.size, 0)).toBeLessThanOrEqual(after.mappedBytes);
  for (const t of tops) expect(t.used).toBeLessThanOrEqual(t.size);
  expect(after.liveContexts).toBeGreaterThanOrEqual(1);
  expect(after.releaseMode).toBe(getConfiguration().releaseMode);
  ctx.delete();
  const released = trim();
  expect(released).toBeGreaterThan(0);
  const trimmed = memoryStats();
  expect(trimmed.residentBytes).toBeLessThan(after.residentBytes - 30 * 1024 * 1024);
  expect(trimmed.releasedBytes).toBeGreaterThanOrEqual(after.releasedBytes + released);
});

test('ctx.stats(): totals, the chunk chain in forwarding order, children', () => {
  const ctx = new MemoryContext({ name: 'st', initialSize: 8192 });
  const first = ctx.stats();
  expect(first.name).toBe('st');
  expect(first.chunkCount).toBe(1);
  expect(first.chunks).toHaveLength(1);
  for (let i = 0; i < 200; i++) ctx.allocUnsafe(1000);
  const kid = ctx.createChild({ name: 'kid' });
  kid.allocUnsafe(100);
  const s = ctx.stats();
  expect(s.chunks.length).toBe(s.chunkCount);
  expect(s.chunks[0]!.size).toBe(first.chunks[0]!.size);
  for (let i = 1; i < s.chunks.length; i++) expect(s.chunks[i]!.size).toBe(2 * s.chunks[i - 1]!.size);
  for (const c of s.chunks.slice(0, -1)) expect(c.used).toBeGreaterThan(c.size * 0.8); // forwarded when full
  expect(s.totalBytes).toBe(s.chunks.reduce((n, c) => n + c.size, 0));
  expect(s.usedBytes + s.freeBytes).toBe(s.totalBytes);
  expect(s.usedBytes).toBeGreaterThanOrEqual(200 * 1000);
  expect(s.children).toHaveLength(1);
  expect(s.children[0]!.name).toBe('kid');
  expect(s.children[0]!.usedBytes).toBeGreaterThanOrEqual(100);
  expect(s.releaseMode).toBe('detach');
  ctx.delete();
});

test('contextCount and createdContexts follow create/delete', () => {
  const a = memoryStats();
  const ctxs = Array.from({ length: 10 }, () => new MemoryContext());
  const b = memoryStats();
  expect(b.contextCount - a.contextCount).toBe(10);
  expect(b.createdContexts - a.createdContexts).toBe(10);
  // the C counter counts a context revived from a thread's cache as created
  expect(b.contextsCreated - a.contextsCreated).toBe(10);
  ctxs.forEach((c) => c.delete());
  expect(memoryStats().contextCount).toBe(a.contextCount);
});

test('stats() names a context exactly as it was created, short or long, in any script', () => {
  const names = ['r', 'x'.repeat(59), 'x'.repeat(60), 'x'.repeat(63), 'x'.repeat(64), 'y'.repeat(200),
    'é'.repeat(31), 'x'.repeat(61) + '€', '😀'.repeat(16), 'a😀'.repeat(30)];
  for (const name of names) {
    const ctx = new MemoryContext({ name });
    expect(ctx.stats().name).toBe(name);
    const child = ctx.createChild({ name });
    expect(child.stats().name).toBe(name);
    ctx.delete();
  }
});
