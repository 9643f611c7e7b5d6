// lib/stats.ts - memoryStats(): the C core's global statistics (field list defined once in
// memctx.h's MCX_GLOBAL_STATS_LIST and built by the addon), resident bytes measured with mincore,
// the process RSS beside them, and the facade's own counters.
import { native } from './native';
import { readRssBytes } from './proc';
import { facadeCounters, type FacadeCounters } from './runtime';

export interface TopChunkStats {
  /** Bytes mapped. */
  size: number;
  /** Bytes handed out as process chunks (bookkeeping included). */
  used: number;
  /** Free bytes returned to the OS with madvise(MADV_DONTNEED). */
  decommitted: number;
  /** True when it holds one large allocation. */
  dedicated: boolean;
}

/** Process-wide figures (the C core is shared by every thread), plus this thread's facade counters. */
export interface MemoryStats extends FacadeCounters {
  /** Bytes currently mapped from the OS for top chunks. */
  mappedBytes: number;
  /** Highest mappedBytes reached. */
  peakMappedBytes: number;
  /** Bytes of top chunks handed out as process chunks. */
  chunkBytes: number;
  /** Bytes of wholly free top chunks kept mapped (the retained budget). */
  retainedBytes: number;
  /** Free bytes returned with MADV_DONTNEED. */
  decommittedBytes: number;
  /** Bytes mapped for bookkeeping. */
  metaBytes: number;
  topChunkCount: number;
  dedicatedCount: number;
  /** Live contexts in the process (every thread); deleted contexts the C core keeps for reuse are not live. */
  contextCount: number;
  contextsCreated: number;
  mmapCalls: number;
  munmapCalls: number;
  madviseCalls: number;
  mapFailures: number;
  releasedBytes: number;
  maintainRuns: number;
  /** Bytes of the top chunks resident in RAM (mincore). */
  residentBytes: number;
  /** The whole process's resident set (VmRSS), for comparison. */
  rssBytes: number;
  /** The top-chunk vector in order. */
  topChunks: TopChunkStats[];
  /** reserve mode: context trees waiting for their ArrayBuffers to be collected (process-wide). */
  quarantinedContexts: number;
  quarantinedBytes: number;
  /** External ArrayBuffers made / detached / collected by the addon (process-wide). */
  arrayBuffersCreated: number;
  arrayBuffersDetached: number;
  arrayBuffersCollected: number;
}

/** Where memory sits right now: allocator mapped/resident bytes beside the process RSS. */
export function memoryStats(): MemoryStats {
  const { liveContextsThisLoad, ...g } = native.globalStats();
  return { ...(g as unknown as Omit<MemoryStats, keyof FacadeCounters | 'rssBytes'>), rssBytes: readRssBytes(), ...facadeCounters(liveContextsThisLoad) };
}
