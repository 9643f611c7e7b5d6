// lib/esm/index.d.mts - types of the ES module entry: the same declarations as dist/index.d.ts.
export * from '../../dist/index.js';
import * as memctx from '../../dist/index.js';
export default memctx;
