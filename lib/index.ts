// lib/index.ts - the public entry point of memctx: re-exports the facade.
export { MemoryContext, MAX_ALLOC_BYTES, RELEASE_MODES, DEFAULT_INITIAL_SIZE } from './context';
export type { MemoryContextOptions, ContextStats, ReleaseMode } from './context';
export { withContext } from './scope';
export { contextFor, contextForResponse, bindToStream } from './http';
export type { StreamLike } from './http';
export { memoryStats } from './stats';
export { readRssBytes } from './proc';
export type { MemoryStats, TopChunkStats } from './stats';
export { configure, getConfiguration, trim } from './config';
export type { ConfigureOptions, Configuration } from './config';
export { MemctxError } from './errors';
export type { MemctxErrorCode } from './errors';
export { startMonitor, Monitor } from './monitor';
export type { MonitorOptions, MonitorSample, PhaseStats } from './monitor';
export { registerMetrics } from './metrics';
export type { MetricsOptions, MemctxMetrics } from './metrics';
export { testing } from './testing';
