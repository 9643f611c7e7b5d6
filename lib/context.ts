// lib/context.ts - MemoryContext: bump allocation in JavaScript inside the context's current
// process chunk (one external ArrayBuffer per chunk), Buffer views, JS free lists, the lifetime
// operations (reset, delete, children, reset callbacks, pins) and the forgotten-context backstop.
import { constants as bufferConstants } from 'node:buffer';
import { MemctxError, deletedError, invalidArgType, invalidArgValue, outOfRange } from './errors';
import { native, scratch, type NativeHandle } from './native';
import { ensureMaintenance, getDefaultReleaseMode, noteBackstop, noteContextCreated, noteContextGone } from './runtime';
import { validateFunction, validateOneOf, validateOptionalSize, validateOptions, validateSize } from './validate';

/** How stale views are made harmless on reset()/delete(); see docs/API.md "Release modes". */
export type ReleaseMode = 'detach' | 'reserve';
export const RELEASE_MODES: readonly ReleaseMode[] = ['detach', 'reserve'];

export interface MemoryContextOptions {
  /** Shown in stats and errors. Default 'context'. */
  name?: string;
  /** The new context is a child of parent: reset/delete of the parent deletes it. */
  parent?: MemoryContext;
  /** First process chunk, bytes, rounded up to a power of two (0 or omitted: 16 KiB). */
  initialSize?: number;
  /** Process chunks double up to this size, bytes (0 or omitted: the C default, 1 MiB). */
  maxChunkSize?: number;
  /** Cap on the bytes of this context's own process chunks (0 or omitted: none). */
  limit?: number;
  /** Overrides the thread default set by configure({ releaseMode }); a child takes its parent's. */
  releaseMode?: ReleaseMode;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['name', 'parent', 'initialSize', 'maxChunkSize', 'limit', 'releaseMode']);

/** Allocation alignment inside a chunk, bytes (MCX_ALIGN). */
const ALIGN = 16;
const ALIGN_MASK = ALIGN - 1;
/** Largest Buffer this facade hands out: the C maximum, capped by V8's ArrayBuffer limit. */
export const MAX_ALLOC_BYTES = Math.min(native.maxAllocBytes, bufferConstants.MAX_LENGTH);
/** Largest process chunk of a forwarding chain (the C core's ceiling). */
const MAX_CHUNK_OPTION_BYTES = 2 ** 30;
/**
 * The facade's default first chunk: 16 KiB, so that a typical request (16 Buffers of up to
 * 1 KiB) fits in one chunk and costs one ArrayBuffer; the C default (8 KiB) forwards once there.
 */
export const DEFAULT_INITIAL_SIZE = 16 * 1024;
const MIN_CHUNK_BYTES = 4096;

/** Bookkeeping hung on every ArrayBuffer the addon made for a context. */
interface ChunkInfo {
  owner: MemoryContext;
  /** ctx generation (reset count) when it was made; a mismatch means "stale". */
  gen: number;
  large: boolean;
  /** Bytes handed out of this chunk when it stopped being current. */
  used: number;
  /** Offsets sitting in the free lists (double-free detection). */
  freed: Set<number> | null;
}
const kChunk = Symbol('memctx.chunk');
type TaggedArrayBuffer = ArrayBuffer & { [kChunk]?: ChunkInfo };

/**
 * The Buffers handed out: a Uint8Array subclass whose prototype chains to Buffer.prototype, so
 * Buffer.isBuffer() is true and every Buffer method works; cheaper to make than Buffer.from()
 * (see bench/js/RESULTS.md).
 */
class ContextBuffer extends Uint8Array {
  // An explicit fixed-arity constructor: ~7% cheaper than the implicit (...args) one.
  constructor(ab: ArrayBuffer, byteOffset: number, length: number) {
    super(ab, byteOffset, length);
  }

  // subarray() makes ViewBuffers: only what alloc/allocUnsafe/realloc returned is a ContextBuffer,
  // so free()/realloc() can refuse a view into the middle of an allocation without the bump
  // allocator keeping a record of where allocations start. (slice() is Buffer's and makes a
  // FastBuffer; map()/filter() copy into a new ArrayBuffer that free() refuses anyway.) Not done
  // with a `static get [Symbol.species]`: that made V8 abort every optimisation of this
  // constructor and of allocUnsafe ("StableMapDependency", thousands of recompilations) and cost
  // the request lifecycle ~7x (bench/js/RESULTS.md), besides disabling V8's species protector
  // for every typed array in the process.
  subarray(begin?: number, end?: number): Uint8Array<ArrayBuffer> {
    const length = this.length;
    const from = relativeIndex(begin, length, 0);
    const to = relativeIndex(end, length, length);
    return new ViewBuffer(this.buffer, this.byteOffset + from, to > from ? to - from : 0);
  }
}

/** TypedArray.prototype.subarray's index rule: ToIntegerOrInfinity, negative from the end, clamped. */
function relativeIndex(value: number | undefined, length: number, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Math.trunc(+value) || 0; // NaN and -0 give 0, as ToIntegerOrInfinity does
  if (n < 0) return n + length > 0 ? n + length : 0;
  return n < length ? n : length;
}
Object.setPrototypeOf(ContextBuffer.prototype, Buffer.prototype);

/** A view derived from a ContextBuffer: a Buffer in every way, but not an allocation. */
class ViewBuffer extends Uint8Array {}
Object.setPrototypeOf(ViewBuffer.prototype, Buffer.prototype);
const typedFill = Uint8Array.prototype.fill;

const LIVE = 0;
const RESETTING = 1;
const DELETED = 2;

type ResetCallback = () => void;

// Forgotten contexts: when the context object becomes unreachable (no view of it is alive either:
// every chunk's ArrayBuffer points back at its context), the C context is deleted here.
const registry = new FinalizationRegistry<NativeHandle>((handle) => {
  const killed = native.backstop(handle); // 0 when delete() ran (or an ancestor's backstop did)
  if (killed > 0) {
    noteBackstop();
    noteContextGone(killed);
  }
});

// Contexts created in this turn of the event loop: registered with the backstop registry at the
// next microtask checkpoint (the end of the current callback), if still live. A context deleted
// within the callback it was made in (a synchronous request) never pays for a registration (a
// WeakCell, GC work; measured in bench/js/RESULTS.md), and a registry callback could not run
// before then anyway. A reaction on a resolved promise, not setImmediate (an Immediate plus unref
// per request: ~1.3 us in the demo service's profile) nor queueMicrotask (which makes an
// AsyncResource and a bound function each time).
const resolved = Promise.resolve();
let young: MemoryContext[] = [];
function registerYoung(): void {
  const batch = young;
  young = [];
  for (let i = 0; i < batch.length; i++) batch[i]!._registerIfLive();
}

export class MemoryContext {
  /** The name given at creation (the C core keeps the first 47 bytes). */
  readonly name: string;
  /** The limit given at creation, bytes (0: none). */
  readonly limit: number;
  /** How this context makes stale views harmless. */
  readonly releaseMode: ReleaseMode;

  private _h: NativeHandle;
  private _ab!: TaggedArrayBuffer;
  private _info!: ChunkInfo;
  private _off = 0;
  private _end = 0;
  /** Largest size served from chunks (the C large threshold); -1 blocks every fast path. */
  private _small = -1;
  private _freeBytes = 0;
  /** Largest chunk (usable bytes) this context has reached; after reset() the first forwarding
   * step asks C for that much at once instead of doubling its way back up. */
  private _peakChunkBytes = 0;
  private _regrowBytes = 0;
  private _free: Map<number, Array<TaggedArrayBuffer | number>> | null = null;
  /**
   * detach mode: every ArrayBuffer made for this context since its last reset: the first one
   * alone (no array for the common one-chunk request), then an array.
   */
  private _abs: TaggedArrayBuffer | TaggedArrayBuffer[] | null;
  private readonly _detach: boolean;
  private _gen = 0;
  private _state = LIVE;
  private _parent: MemoryContext | null;
  private _children: Set<MemoryContext> | null = null;
  private _callbacks: ResetCallback[] | null = null;
  /** Pins on this context and its descendants (pinned I/O in flight). */
  private _pins = 0;
  private _deletePending = false;

  constructor(options?: MemoryContextOptions) {
    let parent: MemoryContext | null = null;
    let name = 'context';
    let initialSize = DEFAULT_INITIAL_SIZE;
    let maxChunkSize = 0;
    let limit = 0;
    let mode = getDefaultReleaseMode();
    if (options !== undefined) {
      const o = validateOptions(options, 'options', OPTION_KEYS);
      if (o.name !== undefined) {
        if (typeof o.name !== 'string') throw invalidArgType('options.name', 'of type string', o.name);
        name = o.name;
      }
      if (o.parent !== undefined && o.parent !== null) {
        if (!(o.parent instanceof MemoryContext)) {
          throw invalidArgType('options.parent', 'an instance of MemoryContext', o.parent);
        }
        parent = o.parent;
        parent._checkUsable('createChild');
      }
      initialSize = validateOptionalSize(o.initialSize, 'options.initialSize', 0, MAX_CHUNK_OPTION_BYTES, DEFAULT_INITIAL_SIZE) || DEFAULT_INITIAL_SIZE;
      maxChunkSize = validateOptionalSize(o.maxChunkSize, 'options.maxChunkSize', 0, MAX_CHUNK_OPTION_BYTES, 0);
      if (maxChunkSize !== 0 && initialSize > maxChunkSize) {
        throw invalidArgValue('options.maxChunkSize', `must be 0 or >= options.initialSize (${initialSize})`, maxChunkSize);
      }
      limit = validateOptionalSize(o.limit, 'options.limit', 0, Number.MAX_SAFE_INTEGER, 0);
      // The C core refuses a limit that cannot hold the first process chunk.
      const firstChunk = 2 ** Math.ceil(Math.log2(Math.max(initialSize, MIN_CHUNK_BYTES)));
      if (limit !== 0 && limit < firstChunk) {
        throw outOfRange('options.limit', `0 (no limit) or >= the first chunk size (${firstChunk})`, limit);
      }
      if (o.releaseMode !== undefined) mode = validateOneOf(o.releaseMode, 'options.releaseMode', RELEASE_MODES);
      if (parent !== null) {
        // One release mode per tree: a child's buffers are detached or parked with its parent's.
        if (o.releaseMode !== undefined && mode !== parent.releaseMode) {
          throw invalidArgValue('options.releaseMode', `must be the parent's release mode ('${parent.releaseMode}') or omitted`, mode);
        }
        mode = parent.releaseMode;
      }
    }
    this.name = name;
    this.limit = limit;
    this.releaseMode = mode;
    this._parent = parent;
    const ab = native.create(parent === null ? null : parent._h, name, initialSize, maxChunkSize, limit,
      mode === 'reserve');
    const handle = scratch[4] as NativeHandle;
    this._h = handle;
    this._detach = mode === 'detach';
    this._abs = null;
    this._adopt(ab as TaggedArrayBuffer);
    if (parent !== null) (parent._children ??= new Set()).add(this);
    // Bounded: a long synchronous stretch registers its survivors every 256 contexts.
    if (young.push(this) === 1) void resolved.then(registerYoung);
    else if (young.length >= 256) registerYoung();
    noteContextCreated();
    ensureMaintenance();
  }

  // ---- allocation ---------------------------------------------------------------------------

  /**
   * A Buffer of `size` bytes whose contents are not initialised (like Buffer.allocUnsafe).
   * Valid until this context (or an ancestor) is reset or deleted, or until free()/realloc().
   */
  allocUnsafe(size: number): Buffer {
    // The fast path in one test: a valid small size (the deleted state makes _small -1), no free
    // lists to consult, room in the current chunk. Everything else takes _allocUnsafeSlow.
    const off = this._off;
    if (typeof size === 'number' && size >>> 0 === size && size <= this._small && this._freeBytes === 0) {
      const next = off + ((size + ALIGN_MASK) & ~ALIGN_MASK);
      if (next <= this._end) {
        this._off = next;
        return new ContextBuffer(this._ab, off, size) as unknown as Buffer;
      }
    }
    return this._allocUnsafeSlow(size);
  }

  private _allocUnsafeSlow(size: number): Buffer {
    if (typeof size !== 'number' || size >>> 0 !== size || size > this._small) return this._allocSlow(size, false, 'allocUnsafe');
    const need = (size + ALIGN_MASK) & ~ALIGN_MASK;
    if (this._freeBytes !== 0) {
      const reused = this._takeFree(need, size);
      if (reused !== null) return reused;
    }
    const off = this._off;
    const next = off + need;
    if (next > this._end) return this._refill(size, need);
    this._off = next;
    return new ContextBuffer(this._ab, off, size) as unknown as Buffer;
  }

  /**
   * A zero-filled Buffer of `size` bytes (like Buffer.alloc); with `fill`, filled as
   * Buffer.prototype.fill(fill, encoding) would.
   */
  alloc(size: number, fill?: string | number | Uint8Array, encoding?: BufferEncoding): Buffer {
    if (typeof size === 'number' && size >>> 0 === size && size <= this._small) {
      const buf = this.allocUnsafe(size);
      if (fill === undefined || fill === 0) {
        typedFill.call(buf, 0);
        return buf;
      }
      return this._fill(buf, fill, encoding);
    }
    const buf = this._allocSlow(size, fill === undefined || fill === 0, 'alloc');
    if (fill === undefined || fill === 0) return buf;
    return this._fill(buf, fill, encoding);
  }

  private _fill(buf: Buffer, fill: string | number | Uint8Array, encoding: BufferEncoding | undefined): Buffer {
    if (typeof fill !== 'number' && typeof fill !== 'string' && !(fill instanceof Uint8Array)) {
      throw invalidArgType('fill', 'of type string, number or an instance of Buffer or Uint8Array', fill);
    }
    if (encoding !== undefined && typeof encoding !== 'string') throw invalidArgType('encoding', 'of type string', encoding);
    if (encoding !== undefined && !Buffer.isEncoding(encoding)) {
      throw invalidArgValue('encoding', 'must be a Buffer encoding (utf8, hex, base64, latin1, ...)', encoding);
    }
    if (buf.length > 0) buf.fill(fill as string, encoding as BufferEncoding);
    return buf;
  }

  private _allocSlow(size: number, zero: boolean, method: string): Buffer {
    this._checkUsable(method);
    validateSize(size, 'size', MAX_ALLOC_BYTES);
    if (size > this._small) {
      const ab = native.allocLarge(this._h, size, zero, this._off, this._freeBytes) as TaggedArrayBuffer;
      ab[kChunk] = { owner: this, gen: this._gen, large: true, used: size, freed: null };
      this._track(ab);
      return new ContextBuffer(ab, 0, size) as unknown as Buffer;
    }
    // Sizes from 2^31 up do not pass `>>> 0` but are still small when the threshold is large.
    const need = Math.ceil(size / ALIGN) * ALIGN;
    const buf = this._off + need > this._end ? this._refill(size, need) : this._bump(size, need);
    if (zero) typedFill.call(buf, 0);
    return buf;
  }

  private _bump(size: number, need: number): Buffer {
    const off = this._off;
    this._off = off + need;
    return new ContextBuffer(this._ab, off, size) as unknown as Buffer;
  }

  /** The current chunk is full: commit, forward to the next chunk (the C forwarding step). */
  private _refill(size: number, need: number): Buffer {
    // Size follows demand: a context reset after reaching a big chunk goes straight back to it
    // (no limit involved: the hint must never make an allocation that fits fail).
    let min = need;
    if (this._regrowBytes > need) {
      if (this.limit === 0) min = this._regrowBytes;
      this._regrowBytes = 0;
    }
    const ab = native.reserve(this._h, this._off, this._freeBytes, min) as TaggedArrayBuffer | undefined;
    if (ab !== undefined) {
      this._info.used = this._off;
      this._adopt(ab);
    } else {
      this._off = scratch[0];
      this._end = scratch[1];
    }
    const off = this._off;
    this._off = off + need;
    return new ContextBuffer(this._ab, off, size) as unknown as Buffer;
  }

  /** Make `ab` (described by the scratch span) the current chunk. */
  private _adopt(ab: TaggedArrayBuffer): void {
    const info: ChunkInfo = { owner: this, gen: this._gen, large: false, used: 0, freed: null };
    ab[kChunk] = info;
    this._ab = ab;
    this._info = info;
    this._off = scratch[0];
    this._end = scratch[1];
    this._small = scratch[3];
    if (this._end > this._peakChunkBytes) this._peakChunkBytes = this._end;
    this._track(ab);
  }

  /** detach mode: remember an ArrayBuffer to detach at reset/delete. */
  private _track(ab: TaggedArrayBuffer): void {
    if (!this._detach) return;
    const abs = this._abs;
    if (abs === null) this._abs = ab;
    else if (Array.isArray(abs)) abs.push(ab);
    else this._abs = [abs, ab];
  }

  private _takeFree(need: number, size: number): Buffer | null {
    const list = this._free!.get(need);
    if (list === undefined || list.length === 0) return null;
    const off = list.pop() as number;
    const ab = list.pop() as TaggedArrayBuffer;
    ab[kChunk]!.freed!.delete(off);
    this._freeBytes -= need;
    return new ContextBuffer(ab, off, size) as unknown as Buffer;
  }

  /** Check that buf is a live allocation of this context; returns its chunk info. */
  private _owned(buf: unknown, method: string): ChunkInfo {
    if (!(buf instanceof Uint8Array)) throw invalidArgType('buf', 'an instance of Buffer or Uint8Array', buf);
    this._checkUsable(method);
    const info = (buf.buffer as TaggedArrayBuffer)[kChunk];
    if (info === undefined || info.owner !== this) {
      throw invalidArgValue('buf', `must be a Buffer allocated by the memory context "${this.name}"`, buf);
    }
    if (info.gen !== this._gen) {
      throw invalidArgValue('buf', `was allocated before the last reset() of the memory context "${this.name}" (or already freed)`, buf);
    }
    if (Object.getPrototypeOf(buf) !== ContextBuffer.prototype) {
      throw invalidArgValue('buf', 'must be a Buffer returned by alloc(), allocUnsafe() or realloc(), not a subarray or slice of one', buf);
    }
    return info;
  }

  /**
   * Return one allocation to the context: later allocations of the same size reuse it. The
   * caller promises not to use buf again. A Buffer of another context, a view into the middle
   * of an allocation, or a second free of the same Buffer are refused.
   */
  free(buf: Uint8Array): void {
    const info = this._owned(buf, 'free');
    if (info.large) {
      native.freeLarge(this._h, buf.buffer as ArrayBuffer);
      info.gen = -1;
      return;
    }
    const off = buf.byteOffset;
    if ((off & ALIGN_MASK) !== 0) {
      throw invalidArgValue('buf', `must start where an allocation starts (byteOffset ${off} is not a multiple of ${ALIGN})`, buf);
    }
    const cap = (buf.byteLength + ALIGN_MASK) & ~ALIGN_MASK;
    if (cap === 0) return;
    const current = info === this._info;
    const used = current ? this._off : info.used;
    if (off + cap > used) {
      throw new MemctxError(`free: the Buffer (byteOffset ${off}, length ${buf.byteLength}) is not a live allocation of "${this.name}" (already freed?)`,
        'ERR_MEMCTX_DOUBLE_FREE', -7);
    }
    const freed = (info.freed ??= new Set());
    if (freed.has(off)) {
      throw new MemctxError(`free: the Buffer at byteOffset ${off} of "${this.name}" was already freed`, 'ERR_MEMCTX_DOUBLE_FREE', -7);
    }
    if (current && off + cap === this._off) {
      this._off = off; // the last bump: give it straight back
      return;
    }
    freed.add(off);
    const lists = (this._free ??= new Map());
    let list = lists.get(cap);
    if (list === undefined) lists.set(cap, (list = []));
    list.push(buf.buffer as TaggedArrayBuffer, off);
    this._freeBytes += cap;
  }

  /**
   * Resize an allocation, keeping its first min(old, size) bytes; returns the Buffer to use from
   * now on (the old one must not be used again). Grows in place when it can.
   */
  realloc(buf: Uint8Array, size: number): Buffer {
    const info = this._owned(buf, 'realloc');
    validateSize(size, 'size', MAX_ALLOC_BYTES);
    const ab = buf.buffer as TaggedArrayBuffer;
    const off = buf.byteOffset;
    if (!info.large && (off & ALIGN_MASK) === 0) {
      const cap = (buf.byteLength + ALIGN_MASK) & ~ALIGN_MASK;
      if (size <= cap) return new ContextBuffer(ab, off, size) as unknown as Buffer;
      const need = Math.ceil(size / ALIGN) * ALIGN;
      if (info === this._info && off + cap === this._off && off + need <= this._end && size <= this._small) {
        this._off = off + need;
        return new ContextBuffer(ab, off, size) as unknown as Buffer;
      }
    } else if (info.large && size <= buf.byteLength) {
      return new ContextBuffer(ab, off, size) as unknown as Buffer;
    }
    const out = this.allocUnsafe(size);
    out.set(size < buf.byteLength ? buf.subarray(0, size) : buf);
    this.free(buf);
    return out;
  }

  // ---- lifetime -----------------------------------------------------------------------------

  /** A child context: reset or deleted with this one. */
  createChild(options?: Omit<MemoryContextOptions, 'parent'>): MemoryContext {
    this._checkUsable('createChild');
    if (options !== undefined) {
      validateOptions(options, 'options', OPTION_KEYS);
      if ((options as MemoryContextOptions).parent !== undefined) {
        throw invalidArgValue('options.parent', 'cannot be given to createChild (the parent is this context)', (options as MemoryContextOptions).parent);
      }
    }
    return new MemoryContext({ ...options, parent: this });
  }

  /**
   * Run callback once at the next reset() or delete(), before the memory goes: children's
   * callbacks first, then this context's, last registered first. Returns this.
   */
  onReset(callback: () => void): this {
    validateFunction(callback, 'callback');
    this._checkUsable('onReset');
    (this._callbacks ??= []).push(callback as ResetCallback);
    return this;
  }

  /**
   * Free everything allocated in the context and delete its children; the context stays usable
   * (and keeps its first process chunk). Every Buffer from before is stale afterwards.
   */
  reset(): void {
    this._checkUsable('reset');
    if (this._pins !== 0) {
      throw new MemctxError(`reset: the memory context "${this.name}" has ${this._pins} pin(s) held by I/O in flight`, 'ERR_MEMCTX_BUSY', -9);
    }
    this._state = RESETTING;
    this._small = -1;
    let failure: unknown = null;
    try {
      failure = this._runCallbacks();
      this._killDescendants();
      const ab = native.reset(this._h, this._abs ?? undefined) as TaggedArrayBuffer | undefined;
      this._gen++;
      this._free = null;
      this._freeBytes = 0;
      this._abs = null;
      if (ab === undefined) throw new MemctxError('reset: the addon returned no chunk', 'ERR_MEMCTX_CORRUPT', -8);
      this._adopt(ab);
      this._regrowBytes = this._peakChunkBytes > this._end ? this._peakChunkBytes : 0;
    } finally {
      this._state = LIVE;
    }
    if (failure !== null) throw failure;
  }

  /**
   * Reset, then delete the context itself; every method throws ERR_MEMCTX_DELETED afterwards.
   * Safe to call twice. While pinned (I/O in flight), the release happens at the last unpin.
   */
  delete(): void {
    if (this._state === DELETED) return;
    if (this._state === RESETTING) {
      throw new MemctxError(`delete: the memory context "${this.name}" is being reset (called from an onReset callback?)`, 'ERR_MEMCTX_BUSY', -9);
    }
    if (this._pins !== 0) {
      this._deletePending = true;
      this._small = -1;
      return;
    }
    this._state = RESETTING;
    this._small = -1;
    let failure: unknown = null;
    try {
      if (this._callbacks !== null || this._children !== null) {
        failure = this._runCallbacks();
        this._killDescendants();
      }
      native.destroy(this._h, this._abs ?? undefined);
    } finally {
      this._markDeleted();
      if (this._parent !== null && this._parent._children !== null) this._parent._children.delete(this);
    }
    if (failure !== null) throw failure;
  }

  [Symbol.dispose](): void {
    this.delete();
  }

  /** True once delete() has run (or a parent's reset/delete took this context with it). */
  get deleted(): boolean {
    return this._state === DELETED || this._deletePending;
  }

  /** The parent context, or null for a root. */
  get parent(): MemoryContext | null {
    return this._parent;
  }

  /** Live children (a copy). */
  get children(): MemoryContext[] {
    return this._children === null ? [] : [...this._children];
  }

  /**
   * Keep the memory alive for I/O in flight (an fs.read into one of its Buffers): delete() and
   * the lifetime helpers wait for the returned function to be called; reset() refuses.
   */
  pin(): () => void {
    this._checkUsable('pin');
    for (let c: MemoryContext | null = this; c !== null; c = c._parent) c._pins++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (let c: MemoryContext | null = this; c !== null; c = c._parent) {
        c._pins--;
        if (c._pins === 0 && c._deletePending && c._state === LIVE) c.delete();
      }
    };
  }

  /** Statistics of this context and its children (commits the JS-side bump offset first). */
  stats(): ContextStats {
    this._checkUsable('stats');
    native.commit(this._h, this._off, this._freeBytes);
    const s = native.contextStats(this._h);
    const children: ContextStats[] = [];
    if (this._children !== null) for (const c of this._children) children.push(c.stats());
    return {
      name: s.name,
      totalBytes: s.totalBytes,
      usedBytes: s.usedBytes,
      freeBytes: s.freeBytes,
      limitBytes: s.limitBytes,
      freeListBytes: this._freeBytes,
      chunkCount: s.chunkCount,
      largeCount: s.largeCount,
      releaseMode: this.releaseMode,
      chunks: s.chunks,
      children,
    };
  }

  /** Verify the C structures under this context (mcx_check); throws MemctxError on corruption. */
  check(): void {
    this._checkUsable('check');
    native.commit(this._h, this._off, this._freeBytes);
    const status = native.check(this._h);
    if (status !== 0) throw new MemctxError(`check: the memory context "${this.name}" failed its invariant check`, 'ERR_MEMCTX_CORRUPT', status);
  }

  get [Symbol.toStringTag](): string {
    return 'MemoryContext';
  }

  // ---- internals ----------------------------------------------------------------------------

  /** @internal called once, at the end of the turn that created this context. */
  _registerIfLive(): void {
    if (this._state !== DELETED && !this._deletePending) registry.register(this, this._h);
  }

  private _checkUsable(method: string): void {
    if (this._state === DELETED || this._deletePending) throw deletedError(method, this.name);
    if (this._state === RESETTING) {
      throw new MemctxError(`${method}: the memory context "${this.name}" is being reset (called from an onReset callback?)`, 'ERR_MEMCTX_BUSY', -9);
    }
  }

  /** Descendants in post-order (children before parents), without recursion. */
  private _descendants(): MemoryContext[] {
    const out: MemoryContext[] = [];
    if (this._children === null) return out;
    const stack: Array<[MemoryContext, boolean]> = [];
    for (const c of this._children) stack.push([c, false]);
    while (stack.length > 0) {
      const [c, expanded] = stack.pop()!;
      if (expanded || c._children === null || c._children.size === 0) {
        out.push(c);
        continue;
      }
      stack.push([c, true]);
      for (const g of c._children) stack.push([g, false]);
    }
    return out;
  }

  /** Run reset callbacks: descendants first, then ours, each list last registered first. */
  private _runCallbacks(): unknown {
    let failure: unknown = null;
    const run = (ctx: MemoryContext): void => {
      const cbs = ctx._callbacks;
      if (cbs === null) return;
      ctx._callbacks = null;
      for (let i = cbs.length - 1; i >= 0; i--) {
        try {
          cbs[i]!();
        } catch (err) {
          failure ??= err;
        }
      }
    };
    for (const d of this._descendants()) {
      d._state = RESETTING;
      run(d);
    }
    run(this);
    return failure;
  }

  /** Detach the descendants' buffers (detach mode) and mark them deleted, before the C reset. */
  private _killDescendants(): void {
    for (const d of this._descendants()) {
      if (d._abs !== null) native.detachAll(d._h, d._abs);
      d._markDeleted();
    }
    this._children = null;
  }

  private _markDeleted(): void {
    this._state = DELETED;
    this._small = -1;
    this._off = 1;
    this._end = 0;
    this._abs = null;
    this._free = null;
    this._freeBytes = 0;
    this._callbacks = null;
    this._children = null;
    // No registry.unregister(): when this object is collected the backstop finds the handle
    // dead (its generation moved on) and does nothing; unregistering would cost every delete.
    noteContextGone();
  }
}

/** Statistics of one context: the C figures, in bytes, plus the facade's own. */
export interface ContextStats {
  name: string;
  /** Bytes of process chunks owned (forwarding chain + large allocations). */
  totalBytes: number;
  /** Bytes of live allocations and headers (JS free lists count as free). */
  usedBytes: number;
  /** totalBytes - usedBytes. */
  freeBytes: number;
  limitBytes: number;
  /** Bytes sitting in the facade's free lists (reused by same-size allocations). */
  freeListBytes: number;
  chunkCount: number;
  largeCount: number;
  releaseMode: ReleaseMode;
  /** This context's process chunks in forwarding order. */
  chunks: Array<{ size: number; used: number }>;
  children: ContextStats[];
}
