// lib/native.ts - loads the compiled addon (build/Release/memctx.node, found by node-gyp-build)
// and types its thin interface; a missing addon gives one error that names the fix.
import * as path from 'node:path';
import { MemctxError } from './errors';

/** The functions exported by native/binding/addon.cc (internal; validated by the facade). */
/** A context handle: a number (table index + generation), so handles cost no allocation. */
export type NativeHandle = number & { readonly __memctxHandle?: never };

export interface NativeGlobalStats {
  [field: string]: unknown;
  mappedBytes: number;
  residentBytes: number;
  topChunks: Array<{ size: number; used: number; decommitted: number; dedicated: boolean }>;
}

export interface NativeContextStats {
  name: string;
  totalBytes: number;
  usedBytes: number;
  freeBytes: number;
  limitBytes: number;
  chunkCount: number;
  largeCount: number;
  childCount: number;
  chunks: Array<{ size: number; used: number }>;
}

export interface NativeConfig {
  topChunkSize: number;
  maxTopChunkSize: number;
  retainBytes: number;
  decayMs: number;
}

export interface NativeBinding {
  init(errorCtor: typeof MemctxError, scratch: Float64Array): void;
  /** Returns the first chunk's ArrayBuffer; the handle is left in scratch[4]. */
  create(parent: NativeHandle | null, name: string, initialSize: number, maxChunkSize: number,
    limitBytes: number, reserve: boolean): ArrayBuffer;
  reserve(h: NativeHandle, usedOffset: number, freedBytes: number, minBytes: number): ArrayBuffer | undefined;
  commit(h: NativeHandle, usedOffset: number, freedBytes: number): void;
  allocLarge(h: NativeHandle, size: number, zero: boolean, usedOffset: number, freeBytes: number): ArrayBuffer;
  freeLarge(h: NativeHandle, ab: ArrayBuffer): void;
  detachAll(h: NativeHandle, abs: ArrayBuffer | ArrayBuffer[]): number;
  reset(h: NativeHandle, abs: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer | undefined;
  destroy(h: NativeHandle, abs: ArrayBuffer | ArrayBuffer[] | undefined): void;
  backstop(h: NativeHandle): number;
  contextStats(h: NativeHandle): NativeContextStats;
  globalStats(): NativeGlobalStats;
  maintain(): number;
  trim(): number;
  configure(topChunkSize: number, maxTopChunkSize: number, retainBytes: number, decayMs: number): void;
  getConfig(): NativeConfig;
  check(h?: NativeHandle): number;
  checkingEnabled(): boolean;
  faultInject(nth: number, every: number): void;
  setNoExternalBuffers(on: boolean): void;
  setV8Direct(on: boolean): boolean;
  mallocTrim(): { supported: boolean; released: boolean; durationMs: number };
  readonly maxAllocBytes: number;
  readonly align: number;
  readonly version: string;
}

/** Package root: dist/ and lib/ both sit one level below it. */
export const packageRoot = path.resolve(__dirname, '..');

function load(): NativeBinding {
  const override = process.env.MEMCTX_ADDON_PATH;
  try {
    if (override) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(path.resolve(override)) as NativeBinding;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return gypBuild(packageRoot) as NativeBinding;
  } catch (err) {
    const cause = err as Error;
    const where = override ? `MEMCTX_ADDON_PATH=${override}` : `${path.join(packageRoot, 'build', 'Release')} or prebuilds/`;
    const e = new MemctxError(
      `memctx: the native addon memctx.node could not be loaded from ${where}. ` +
        'Build it with `npm rebuild memctx` (in a checkout of memctx: `npm run build`); it needs a ' +
        'C/C++ compiler and Python, and offline, node-gyp needs --nodedir. Cause: ' + cause.message,
      'ERR_MEMCTX_ADDON_NOT_FOUND',
    );
    (e as Error & { cause?: unknown }).cause = cause;
    throw e;
  }
}

export const native: NativeBinding = load();

/**
 * Shared out-parameters of the span calls, written by the addon (no object per call):
 * [0] offset used in the chunk, [1] usable bytes of the chunk, [2] index in the forwarding chain,
 * [3] the context's large threshold, [4] the handle made by create().
 */
export const scratch = new Float64Array(8);
native.init(MemctxError, scratch);
