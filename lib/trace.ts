// lib/trace.ts - NODE_DEBUG=memctx tracing (util.debuglog): what the allocator did since the last
// trace line - top chunks mapped and unmapped, release passes and the bytes they gave back, the
// parked trees - read from the C core's counters, so tracing costs nothing when off.
import { debuglog } from 'node:util';
import { native } from './native';

const log = debuglog('memctx');

interface Seen {
  mmapCalls: number;
  munmapCalls: number;
  madviseCalls: number;
  mappedBytes: number;
  releasedBytes: number;
  maintainRuns: number;
  quarantinedContexts: number;
}

function read(): Seen {
  const g = native.globalStats() as unknown as Seen;
  return {
    mmapCalls: g.mmapCalls, munmapCalls: g.munmapCalls, madviseCalls: g.madviseCalls, mappedBytes: g.mappedBytes,
    releasedBytes: g.releasedBytes, maintainRuns: g.maintainRuns,
    quarantinedContexts: g.quarantinedContexts,
  };
}

// The counters at load, so the first line also counts what happened before the first tick.
let seen: Seen | null = log.enabled ? read() : null;

/** Whether NODE_DEBUG names memctx. */
export const tracing = log.enabled;

/** One line for what changed since the last call (nothing when nothing did); `why` says who asked. */
export function traceActivity(why: string): void {
  if (!log.enabled) return;
  const now = read();
  const was = seen ?? now;
  seen = now;
  const maps = now.mmapCalls - was.mmapCalls;
  const unmaps = now.munmapCalls - was.munmapCalls;
  const madvises = now.madviseCalls - was.madviseCalls;
  const released = now.releasedBytes - was.releasedBytes;
  const passes = now.maintainRuns - was.maintainRuns;
  const parked = now.quarantinedContexts - was.quarantinedContexts;
  if (maps === 0 && unmaps === 0 && madvises === 0 && released === 0 && parked === 0 && why !== 'trim') return;
  log('%s: %d mmap, %d munmap, %d madvise; mapped %d bytes (%s%d); %d release pass(es) gave back %d bytes; ' +
    'parked trees %d (%s%d)', why, maps, unmaps, madvises, now.mappedBytes,
  now.mappedBytes >= was.mappedBytes ? '+' : '', now.mappedBytes - was.mappedBytes, passes, released,
  now.quarantinedContexts, parked >= 0 ? '+' : '', parked);
}
