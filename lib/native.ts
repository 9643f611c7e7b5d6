// lib/native.ts - loads the compiled addon (build/Release/memctx.node or a prebuild, found by
// node-gyp-build), opens this load's own function table, and types the boundary: constants,
// status codes and scratch slots are read from the addon, never typed here again.
import * as path from 'node:path';
import { MemctxError, useStatusTable } from './errors';

/** A context handle: a number (table index + generation), so handles cost no allocation. */
export type NativeHandle = number & { readonly __memctxHandle?: never };

export interface NativeGlobalStats {
  [field: string]: unknown;
  mappedBytes: number;
  residentBytes: number;
  liveContextsThisLoad: number;
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

/** Numbers defined by the C core and the binding (memctx.h, native/binding/binding.h). */
export interface NativeConstants {
  /** Status number by ERR_MEMCTX_* code (MCX_STATUS_LIST). */
  status: Record<string, number>;
  /** Index of each value the span calls leave in the scratch array. */
  scratch: { offset: number; chunkBytes: number; chunkIndex: number; largeThreshold: number; handle: number };
  maxAllocBytes: number;
  align: number;
  /** Contexts scrub what they used, so a chunk's bytes above the bump offset read zero. */
  cleanContexts: boolean;
  minTopChunkBytes: number;
  maxTopChunkBytes: number;
  minChunkBytes: number;
  maxChunkBytes: number;
  maxDecayMs: number;
  defaultTopChunkBytes: number;
  defaultMaxTopChunkBytes: number;
  defaultRetainBytes: number;
  defaultDecayMs: number;
  version: string;
}

/** The function table of one load (native/binding/module.cc); arguments are validated by the facade. */
export interface NativeBinding {
  /** Returns the first chunk's ArrayBuffer; the handle is left in scratch[constants.scratch.handle]. */
  create(parent: NativeHandle | null, name: string, initialSize: number, maxChunkSize: number,
    limitBytes: number, reserve: boolean): ArrayBuffer;
  /** usedOffset < 0: C's own offset stands (after a failed reset the facade's is unknown). */
  reserve(h: NativeHandle, usedOffset: number, freedBytes: number, minBytes: number): ArrayBuffer | undefined;
  commit(h: NativeHandle, usedOffset: number, freedBytes: number): void;
  allocLarge(h: NativeHandle, size: number, zero: boolean, usedOffset: number, freeBytes: number): ArrayBuffer;
  freeLarge(h: NativeHandle, ab: ArrayBuffer): void;
  /** usedOffset (here and below): the facade's offset in the current chunk, so C scrubs all it used. */
  detachAll(h: NativeHandle, abs: ArrayBuffer | ArrayBuffer[] | undefined, usedOffset: number): number;
  reset(h: NativeHandle, abs: ArrayBuffer | ArrayBuffer[] | undefined, usedOffset: number): ArrayBuffer;
  destroy(h: NativeHandle, abs: ArrayBuffer | ArrayBuffer[] | undefined, usedOffset: number): void;
  backstop(h: NativeHandle): number;
  contextStats(h: NativeHandle): NativeContextStats;
  check(h?: NativeHandle): number;
  globalStats(): NativeGlobalStats;
  maintain(): number;
  trim(): number;
  configure(topChunkSize: number, maxTopChunkSize: number, retainBytes: number, decayMs: number): void;
  getConfig(): NativeConfig;
  checkingEnabled(): boolean;
  /** How chunk ArrayBuffers are kept from transfers: V8 detach key, markAsUntransferable, or none. */
  untransferable(): 'key' | 'mark' | 'none';
  faultInject(nth: number, every: number): void;
  setNoExternalBuffers(on: boolean): void;
  setV8Direct(on: boolean): boolean;
  /** glibc malloc_trim(0), timed: a measurement aid for the demo's baseline + malloc_trim mode. */
  mallocTrim(): { supported: boolean; released: boolean; durationMs: number };
  readonly scratch: Float64Array;
  readonly constants: NativeConstants;
}

interface Addon {
  open(errorCtor: typeof MemctxError): NativeBinding;
}

/** Package root: dist/ and lib/ both sit one level below it. */
export const packageRoot = path.resolve(__dirname, '..');

function loadAddon(): Addon {
  const override = process.env.MEMCTX_ADDON_PATH;
  try {
    if (override) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(path.resolve(override)) as Addon;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return gypBuild(packageRoot) as Addon;
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

/** This load's own table: a second load of the facade opens another, sharing nothing with it. */
export const native: NativeBinding = loadAddon().open(MemctxError);

/** Out-parameters of the span calls, written by the addon (no object per call). */
export const scratch = native.scratch;

export const constants = native.constants;
useStatusTable(constants.status);

/** Scratch slot indices, by name, as the binding defines them. */
export const SLOT = constants.scratch;
