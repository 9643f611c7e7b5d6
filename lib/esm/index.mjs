// lib/esm/index.mjs - the ES module entry of memctx (`import ... from 'memctx'`): re-exports the
// CommonJS build in dist/ so that both module systems share one addon instance per thread.
import memctx from '../../dist/index.js';

export const {
  MemoryContext,
  MAX_ALLOC_BYTES,
  RELEASE_MODES,
  DEFAULT_INITIAL_SIZE,
  withContext,
  contextFor,
  contextForResponse,
  bindToStream,
  memoryStats,
  readRssBytes,
  configure,
  getConfiguration,
  trim,
  MemctxError,
  startMonitor,
  Monitor,
  registerMetrics,
  testing,
} = memctx;
export default memctx;
