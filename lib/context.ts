// lib/context.ts - MemoryContext: bump allocation in JavaScript inside the context's current
// process chunk (one external ArrayBuffer per chunk), the Buffers it hands out and their identity,
// the lifetime operations (reset, delete, children, reset callbacks, pins) and the backstop for
// forgotten contexts.
//
// What lives here and what does not: the C core owns the tree, liveness and chunk memory; the
// binding owns which ArrayBuffers cover that memory and never lets memory go back to C while one
// of them is alive. This file keeps what speed needs (the bump cursor and free lists of the
// current chunks) and what only JavaScript can hold (callbacks, pins, the objects of the tree).
// Every native call re-checks the handle, so a mistake here can refuse a call but never reach
// memory that belongs to someone else.
import { constants as bufferConstants } from 'node:buffer';
import { markAsUntransferable } from 'node:worker_threads';
import { MemctxError, busyError, deletedError, doubleFreeError, invalidArgType, invalidArgValue, invalidThis, outOfRange } from './errors';
import { constants, native, scratch, SLOT, type NativeHandle } from './native';
import { ensureMaintenance, getDefaultReleaseMode, noteBackstop, noteContextCreated } from './runtime';
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
const ALIGN = constants.align;
const ALIGN_MASK = ALIGN - 1;
/**
 * C scrubs what a context used before any context gets that memory again, so the current
 * chunk's bytes from the bump offset up read zero: alloc() skips the fill there, and free()
 * clears what it gives back to the bump (else those bytes would escape the scrub).
 */
const BUMP_ZEROED = constants.cleanContexts;
/** Largest Buffer this facade hands out: the C maximum, capped by V8's ArrayBuffer limit. */
export const MAX_ALLOC_BYTES = Math.min(constants.maxAllocBytes, bufferConstants.MAX_LENGTH);
/**
 * The facade's default first chunk: 16 KiB, so that a typical request (16 Buffers of up to
 * 1 KiB) fits in one chunk and costs one ArrayBuffer; the C default (8 KiB) forwards once there.
 */
export const DEFAULT_INITIAL_SIZE = 16 * 1024;

const S_OFFSET = SLOT.offset;
const S_CHUNK_BYTES = SLOT.chunkBytes;
const S_LARGE = SLOT.largeThreshold;
const S_HANDLE = SLOT.handle;

// Chunk ArrayBuffers must not be transferred (a transfer would carry context memory out of the
// binding's sight). Node 24+ refuse it through the binding's V8 detach key; on Node 20 and 22 the
// facade marks each buffer (the binding keeps what still gets through safe).
let markChunks = native.untransferable() === 'mark';

/** @internal re-read after testing.useNodeApiArrayBuffers() switches how buffers are made. */
export function refreshUntransferable(): void {
  markChunks = native.untransferable() === 'mark';
}

/** One process chunk (or large allocation) as the facade sees it: its buffer and its owner. */
class Chunk {
  readonly #genuine = true;
  constructor(
    readonly ctx: MemoryContext,
    /** The owner's reset count when the chunk was lent; a mismatch means stale. */
    readonly gen: number,
    readonly ab: ArrayBuffer,
    readonly large: boolean,
  ) {}

  /** Whether v is a Chunk made here (a Buffer's brand could be any object passed to its constructor). */
  static isChunk(v: unknown): v is Chunk {
    return typeof v === 'object' && v !== null && #genuine in v;
  }
}

/** Brand value of a Buffer that free() or realloc() has taken back. */
const RETIRED = 1;
type Brand = Chunk | typeof RETIRED;

// Module-private access to a Buffer's brand, set up inside the class body (private names are
// visible only there). Not statics: buf.constructor would hand them to anyone.
let brandOf: (v: object) => Brand | undefined;
let retire: (buf: object) => void;

/**
 * The Buffers handed out: a Uint8Array subclass whose prototype chains to Buffer.prototype, so
 * Buffer.isBuffer() is true and every Buffer method works. Each one made by an allocation carries
 * its chunk in a private field: that brand, not the class or the offset, is what free() and
 * realloc() accept, so views made any other way (subarray, the constructor, Reflect.construct)
 * and Buffers already given back are refused. Anyone can call the constructor (it is
 * buf.constructor), but no code outside this file can reach a genuine Chunk to pass it.
 */
class ContextBuffer extends Uint8Array {
  #chunk: Brand | undefined;

  // An explicit fixed-arity constructor: ~7% cheaper than the implicit (...args) one. The brand
  // is stored as given (undefined when user code calls the constructor): whatever is not a
  // genuine Chunk is refused alike, and a plain store is 8 instructions cheaper per allocation
  // than normalising it.
  constructor(ab: ArrayBuffer, byteOffset: number, length: number, chunk?: Chunk) {
    super(ab, byteOffset, length);
    this.#chunk = chunk;
  }

  static {
    brandOf = (v) => (#chunk in v ? (v as ContextBuffer).#chunk : undefined);
    retire = (buf) => {
      (buf as ContextBuffer).#chunk = RETIRED;
    };
  }

  // subarray() makes ViewBuffers without going through Symbol.species (a species getter on this
  // class made V8 abort every optimisation of the allocation path, bench/js/RESULTS.md).
  subarray(begin?: number, end?: number): Uint8Array<ArrayBuffer> {
    const length = this.length;
    const from = relativeIndex(begin, length, 0);
    const to = relativeIndex(end, length, length);
    return new ViewBuffer(this.buffer, this.byteOffset + from, to > from ? to - from : 0);
  }
}

/**
 * A Buffer over [off, off + length) of the chunk, branded as an allocation; undefined when the
 * chunk's ArrayBuffer was detached by someone else (moved away by a BYOB read or transfer()).
 * A length check, not a try/catch: that kept V8 from inlining the construction.
 */
function mint(ab: ArrayBuffer, off: number, length: number, chunk: Chunk): Buffer | undefined {
  return ab.byteLength !== 0 ? new ContextBuffer(ab, off, length, chunk) as unknown as Buffer : undefined;
}

let movedWarned = false;

/**
 * Once per load: a move of a chunk's ArrayBuffer cannot be refused on Node 20 and 22, and it
 * empties every Buffer that shares the chunk, which nothing else would tell the user.
 */
function warnChunkMoved(): void {
  if (movedWarned) return;
  movedWarned = true;
  process.emitWarning(
    "a memory context's chunk ArrayBuffer was moved away (ArrayBuffer.prototype.transfer() or " +
    "transferToFixedLength(), a BYOB stream read or a byte stream's enqueue()): every Buffer of that " +
    'context in the chunk now has length 0. Hand such APIs a copy (Buffer.from(buf)) or a plain ' +
    'Buffer instead; Node 24 and later refuse the move.',
    { code: 'MEMCTX_CHUNK_MOVED' });
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

// Forgotten contexts: once the context object is unreachable, the binding deletes its C context,
// or parks it while a view (which does not keep its context alive) may still read the memory.
const registry = new FinalizationRegistry<NativeHandle>((handle) => {
  if (native.backstop(handle) > 0) noteBackstop();
});

// Contexts created in this turn of the event loop: registered with the backstop registry at the
// next microtask checkpoint, if still live. A context deleted within the callback it was made in
// (a synchronous request) never pays for a registration (a WeakCell, GC work; measured in
// bench/js/RESULTS.md), and one deleted while it is the newest drops out of the list at once: a
// list that held every context of a synchronous stretch kept them and their chunk buffers alive
// across scavenges (about 8 % of a create-allocate-delete loop, bench/js/lifecycle-loop.js). A
// reaction on a resolved promise, one per turn, not setImmediate (an Immediate per request) nor
// queueMicrotask (an AsyncResource and a bound function each time).
const resolved = Promise.resolve();
let young: MemoryContext[] = [];
let youngScheduled = false;
let registerYoung: () => void;

/** Whether v is a MemoryContext of this load (a brand check: prototypes can be forged). */
export let isMemoryContext: (v: unknown) => v is MemoryContext;

/** Run fn for each callback from last to first; returns whether one threw, and the first value thrown. */
function runAll(cbs: ResetCallback[], failure: { thrown: boolean; value: unknown }): void {
  for (let i = cbs.length - 1; i >= 0; i--) {
    try {
      cbs[i]!();
    } catch (err) {
      if (!failure.thrown) {
        failure.thrown = true;
        failure.value = err;
      }
    }
  }
}

export class MemoryContext {
  #name: string;
  #limit: number;
  #mode: ReleaseMode;
  #h: NativeHandle;
  #ab!: ArrayBuffer;
  /** A one-byte view of #ab: its length reads 0 once #ab is detached. The allocation fast path
   * checks it (V8 inlines a typed array's length; ArrayBuffer byteLength is a builtin call). */
  #live!: Uint8Array;
  #chunk!: Chunk;
  #off = 0;
  #end = 0;
  /** Largest size served from chunks (the C large threshold); -1 blocks every fast path. */
  #small = -1;
  #freeBytes = 0;
  /** Largest chunk (usable bytes) reached; after reset() the first forwarding step asks C for
   * that much at once instead of doubling its way back up. */
  #peakChunkBytes = 0;
  #regrowBytes = 0;
  /** Freed allocations by rounded size: chunk, offset, chunk, offset, ... */
  #free: Map<number, Array<Chunk | number>> | null = null;
  /** detach mode: the ArrayBuffers made since the last reset (one alone, then an array). */
  #abs: ArrayBuffer | ArrayBuffer[] | null = null;
  #detach: boolean;
  #gen = 0;
  #state = LIVE;
  #parent: MemoryContext | null;
  #children: Set<MemoryContext> | null = null;
  #callbacks: ResetCallback[] | null = null;
  /** Pins on this context and its descendants (pinned I/O in flight). */
  #pins = 0;
  #deletePending = false;

  static {
    isMemoryContext = (v): v is MemoryContext => typeof v === 'object' && v !== null && #h in v;
    registerYoung = () => {
      youngScheduled = false;
      const batch = young;
      young = [];
      for (let i = 0; i < batch.length; i++) {
        const c = batch[i]!;
        if (c.#state !== DELETED && !c.#deletePending) registry.register(c, c.#h);
      }
    };
  }

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
        const p = o.parent;
        if (typeof p !== 'object' || !(#h in p)) {
          throw invalidArgType('options.parent', 'an instance of MemoryContext created by this load of memctx', p);
        }
        parent = p;
        parent.#checkUsable('createChild');
      }
      initialSize = validateOptionalSize(o.initialSize, 'options.initialSize', 0, constants.maxChunkBytes, DEFAULT_INITIAL_SIZE) || DEFAULT_INITIAL_SIZE;
      maxChunkSize = validateOptionalSize(o.maxChunkSize, 'options.maxChunkSize', 0, constants.maxChunkBytes, 0);
      if (maxChunkSize !== 0 && initialSize > maxChunkSize) {
        throw invalidArgValue('options.maxChunkSize', `must be 0 or >= options.initialSize (${initialSize})`, maxChunkSize);
      }
      limit = validateOptionalSize(o.limit, 'options.limit', 0, Number.MAX_SAFE_INTEGER, 0);
      // The C core refuses a limit that cannot hold the first process chunk.
      const firstChunk = 2 ** Math.ceil(Math.log2(Math.max(initialSize, constants.minChunkBytes)));
      if (limit !== 0 && limit < firstChunk) {
        throw outOfRange('options.limit', `0 (no limit) or >= the first chunk size (${firstChunk})`, limit);
      }
      if (o.releaseMode !== undefined) mode = validateOneOf(o.releaseMode, 'options.releaseMode', RELEASE_MODES);
      if (parent !== null) {
        // One release mode per tree: a child's buffers are detached or parked with its parent's.
        if (o.releaseMode !== undefined && mode !== parent.#mode) {
          throw invalidArgValue('options.releaseMode', `must be the parent's release mode ('${parent.#mode}') or omitted`, mode);
        }
        mode = parent.#mode;
      }
    }
    this.#name = name;
    this.#limit = limit;
    this.#mode = mode;
    this.#parent = parent;
    this.#detach = mode === 'detach';
    const ab = native.create(parent === null ? null : parent.#h, name, initialSize, maxChunkSize, limit, mode === 'reserve');
    this.#h = scratch[S_HANDLE] as NativeHandle;
    this.#adopt(ab);
    if (parent !== null) (parent.#children ??= new Set()).add(this);
    // Bounded: a long synchronous stretch registers its survivors every 256 contexts.
    if (young.push(this) >= 256) {
      registerYoung();
    } else if (!youngScheduled) {
      youngScheduled = true;
      void resolved.then(registerYoung);
    }
    noteContextCreated();
    ensureMaintenance();
  }

  /** The name given at creation (the C core keeps the first 47 bytes). */
  get name(): string {
    return #name in this ? this.#name : thisError('name');
  }

  /** The limit given at creation, bytes (0: none). */
  get limit(): number {
    return #limit in this ? this.#limit : thisError('limit');
  }

  /** How this context makes stale views harmless. */
  get releaseMode(): ReleaseMode {
    return #mode in this ? this.#mode : thisError('releaseMode');
  }

  // ---- allocation ---------------------------------------------------------------------------

  /**
   * A Buffer of `size` bytes whose contents are not initialised (like Buffer.allocUnsafe).
   * Valid until this context (or an ancestor) is reset or deleted, or until free()/realloc().
   */
  allocUnsafe(size: number): Buffer {
    if (!(#off in this)) return thisError('allocUnsafe');
    // The fast path in one test: a valid small size (the deleted state makes #small -1), no free
    // lists to consult, room in the current chunk. Everything else takes the slow path.
    const off = this.#off;
    if (typeof size === 'number' && size >>> 0 === size && size <= this.#small && this.#freeBytes === 0) {
      const next = off + ((size + ALIGN_MASK) & ~ALIGN_MASK);
      if (next <= this.#end && this.#live.length !== 0) {
        this.#off = next;
        return new ContextBuffer(this.#ab, off, size, this.#chunk) as unknown as Buffer;
      }
    }
    return this.#allocUnsafeSlow(size);
  }

  #allocUnsafeSlow(size: number): Buffer {
    if (typeof size !== 'number' || size >>> 0 !== size || size > this.#small) return this.#allocSlow(size, false, 'allocUnsafe');
    const need = (size + ALIGN_MASK) & ~ALIGN_MASK;
    if (this.#freeBytes !== 0) {
      const reused = this.#takeFree(need, size);
      if (reused !== null) return reused;
    }
    const off = this.#off;
    const next = off + need;
    if (next > this.#end) return this.#refill(size, need);
    this.#off = next;
    return mint(this.#ab, off, size, this.#chunk) ?? this.#moved(size);
  }

  /**
   * A zero-filled Buffer of `size` bytes (like Buffer.alloc); with `fill`, filled as
   * Buffer.prototype.fill(fill, encoding) would.
   */
  alloc(size: number, fill?: string | number | Uint8Array, encoding?: BufferEncoding): Buffer {
    if (!(#off in this)) return thisError('alloc');
    if (typeof size === 'number' && size >>> 0 === size && size <= this.#small) {
      const bump = BUMP_ZEROED && this.#freeBytes === 0; // else allocUnsafe may reuse a freed one
      const buf = this.allocUnsafe(size);
      if (fill === undefined || fill === 0) {
        if (!bump) typedFill.call(buf, 0);
        return buf;
      }
      return fillBuffer(buf, fill, encoding);
    }
    const buf = this.#allocSlow(size, fill === undefined || fill === 0, 'alloc');
    if (fill === undefined || fill === 0) return buf;
    return fillBuffer(buf, fill, encoding);
  }

  #allocSlow(size: number, zero: boolean, method: string): Buffer {
    this.#checkUsable(method);
    validateSize(size, 'size', MAX_ALLOC_BYTES);
    if (this.#small < 0) this.#resume();
    if (size > this.#small) {
      const ab = native.allocLarge(this.#h, size, zero, this.#off, this.#freeBytes);
      if (markChunks) markAsUntransferable(ab);
      const chunk = new Chunk(this, this.#gen, ab, true);
      this.#track(ab);
      return mint(ab, 0, size, chunk)!;
    }
    // Sizes from 2^31 up do not pass `>>> 0` but are still small when the threshold is large.
    const need = Math.ceil(size / ALIGN) * ALIGN;
    let buf: Buffer;
    if (this.#off + need > this.#end) {
      buf = this.#refill(size, need);
    } else {
      const off = this.#off;
      this.#off = off + need;
      buf = mint(this.#ab, off, size, this.#chunk) ?? this.#moved(size);
    }
    if (zero && !BUMP_ZEROED) typedFill.call(buf, 0);
    return buf;
  }

  /** The current chunk is full: commit, forward to the next chunk (the C forwarding step). */
  #refill(size: number, need: number): Buffer {
    this.#checkUsable('allocUnsafe');
    // Size follows demand: a context reset after reaching a big chunk goes straight back to it
    // (no limit involved: the hint must never make an allocation that fits fail).
    let min = need;
    if (this.#regrowBytes > need) {
      if (this.#limit === 0) min = this.#regrowBytes;
      this.#regrowBytes = 0;
    }
    this.#lent(native.reserve(this.#h, this.#off, this.#freeBytes, min));
    const off = this.#off;
    this.#off = off + need;
    return mint(this.#ab, off, size, this.#chunk) ?? this.#moved(size);
  }

  /**
   * The current chunk's ArrayBuffer was detached by someone else (a BYOB read or transfer()
   * moved it away). The rest of that chunk is left unused (the binding parks it until the moved
   * buffer is collected) and the allocation is served from a new chunk.
   */
  #moved(size: number): Buffer {
    warnChunkMoved();
    this.#off = this.#end;
    return this.#refill(size, (size + ALIGN_MASK) & ~ALIGN_MASK);
  }

  /** After a failed reset: C's offset stands until the next chunk is lent. */
  #resume(): void {
    this.#checkUsable('allocUnsafe');
    this.#lent(native.reserve(this.#h, -1, 0, 0));
  }

  /** Take what reserve() lent: a new chunk's ArrayBuffer, or (undefined) more of the current one. */
  #lent(ab: ArrayBuffer | undefined): void {
    if (ab !== undefined) {
      this.#adopt(ab);
      return;
    }
    this.#off = scratch[S_OFFSET]!;
    this.#end = scratch[S_CHUNK_BYTES]!;
    this.#small = scratch[S_LARGE]!;
  }

  /** Make `ab` (described by the scratch span) the current chunk. */
  #adopt(ab: ArrayBuffer): void {
    if (markChunks) markAsUntransferable(ab);
    this.#ab = ab;
    this.#live = new Uint8Array(ab, 0, 1);
    this.#chunk = new Chunk(this, this.#gen, ab, false);
    this.#off = scratch[S_OFFSET]!;
    this.#end = scratch[S_CHUNK_BYTES]!;
    this.#small = scratch[S_LARGE]!;
    if (this.#end > this.#peakChunkBytes) this.#peakChunkBytes = this.#end;
    this.#track(ab);
  }

  /** detach mode: remember an ArrayBuffer to detach at reset/delete. */
  #track(ab: ArrayBuffer): void {
    if (!this.#detach) return;
    const abs = this.#abs;
    if (abs === null) this.#abs = ab;
    else if (Array.isArray(abs)) abs.push(ab);
    else this.#abs = [abs, ab];
  }

  #takeFree(need: number, size: number): Buffer | null {
    const list = this.#free!.get(need);
    while (list !== undefined && list.length !== 0) {
      const off = list.pop() as number;
      const chunk = list.pop() as Chunk;
      this.#freeBytes -= need;
      const buf = mint(chunk.ab, off, size, chunk);
      if (buf !== undefined) return buf;
    }
    return null;
  }

  /** Check that buf is a live allocation of this context (its brand); returns its chunk. */
  #owned(buf: unknown, method: string): Chunk {
    if (typeof buf !== 'object' || buf === null || !ArrayBuffer.isView(buf)) {
      throw invalidArgType('buf', 'an instance of Buffer or Uint8Array', buf);
    }
    this.#checkUsable(method);
    const brand = brandOf(buf);
    if (brand === RETIRED) throw doubleFreeError(method, this.#name);
    if (!Chunk.isChunk(brand) || brand.ctx !== this) {
      throw invalidArgValue('buf', `must be a Buffer returned by alloc(), allocUnsafe() or realloc() of the memory context "${this.#name}" (not a view of one)`, buf);
    }
    if (brand.gen !== this.#gen) {
      throw invalidArgValue('buf', `was allocated before the last reset() of the memory context "${this.#name}"`, buf);
    }
    return brand;
  }

  /**
   * Return one allocation to the context: later allocations of the same size reuse it. The
   * caller promises not to use buf again. A Buffer of another context, a view into an
   * allocation, or a Buffer already freed (or replaced by realloc()) is refused.
   */
  free(buf: Uint8Array): void {
    if (!(#off in this)) return thisError('free');
    const chunk = this.#owned(buf, 'free');
    retire(buf);
    if (chunk.large) {
      native.freeLarge(this.#h, chunk.ab);
      return;
    }
    const off = buf.byteOffset;
    const cap = (buf.byteLength + ALIGN_MASK) & ~ALIGN_MASK;
    if (cap === 0) return;
    if (chunk === this.#chunk && off + cap === this.#off) {
      if (BUMP_ZEROED) typedFill.call(buf, 0);
      this.#off = off; // the last bump: give it straight back
      return;
    }
    const lists = (this.#free ??= new Map());
    let list = lists.get(cap);
    if (list === undefined) lists.set(cap, (list = []));
    list.push(chunk, off);
    this.#freeBytes += cap;
  }

  /**
   * Resize an allocation, keeping its first min(old, size) bytes; returns the Buffer to use from
   * now on (the old one is given back and refused by later free()/realloc() calls).
   */
  realloc(buf: Uint8Array, size: number): Buffer {
    if (!(#off in this)) return thisError('realloc');
    const chunk = this.#owned(buf, 'realloc');
    validateSize(size, 'size', MAX_ALLOC_BYTES);
    const off = buf.byteOffset;
    if (!chunk.large) {
      const cap = (buf.byteLength + ALIGN_MASK) & ~ALIGN_MASK;
      const need = Math.ceil(size / ALIGN) * ALIGN;
      const inPlace = size <= cap ||
        (chunk === this.#chunk && off + cap === this.#off && off + need <= this.#end && size <= this.#small);
      if (inPlace) {
        const out = mint(chunk.ab, off, size, chunk);
        if (out !== undefined) {
          if (size > cap) this.#off = off + need;
          retire(buf);
          return out;
        }
      }
    } else if (size <= buf.byteLength) {
      const out = mint(chunk.ab, off, size, chunk);
      if (out !== undefined) {
        retire(buf);
        return out;
      }
    }
    const out = this.allocUnsafe(size);
    out.set(size < buf.byteLength ? buf.subarray(0, size) : buf);
    this.free(buf);
    return out;
  }

  // ---- lifetime -----------------------------------------------------------------------------

  /** A child context: reset or deleted with this one. */
  createChild(options?: Omit<MemoryContextOptions, 'parent'>): MemoryContext {
    if (!(#off in this)) return thisError('createChild');
    this.#checkUsable('createChild');
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
    if (!(#off in this)) return thisError('onReset');
    validateFunction(callback, 'callback');
    this.#checkUsable('onReset');
    (this.#callbacks ??= []).push(callback as ResetCallback);
    return this;
  }

  /**
   * Free everything allocated in the context and delete its children; the context stays usable
   * (and keeps its first process chunk). Every Buffer from before is stale afterwards.
   */
  reset(): void {
    if (!(#off in this)) return thisError('reset');
    this.#checkUsable('reset');
    if (this.#pins !== 0) throw busyError('reset', this.#name, `has ${this.#pins} pin(s) held by I/O in flight`);
    const failure = this.#clearTree();
    const off = this.#off;
    const abs = this.#abs;
    this.#abs = null;
    this.#gen++;
    this.#free = null;
    this.#freeBytes = 0;
    // Until the binding lends the first chunk again, every allocation takes the slow path, which
    // resumes from C's own offset (#resume) if the reset below fails.
    this.#small = -1;
    this.#off = -1;
    this.#end = -1;
    try {
      this.#adopt(native.reset(this.#h, abs ?? undefined, off));
      this.#regrowBytes = this.#peakChunkBytes > this.#end ? this.#peakChunkBytes : 0;
    } finally {
      this.#state = LIVE;
    }
    if (failure.thrown) throw failure.value;
  }

  /**
   * Reset, then delete the context itself; every method throws ERR_MEMCTX_DELETED afterwards.
   * Safe to call twice. While pinned (I/O in flight), the release happens at the last unpin.
   */
  delete(): void {
    if (!(#off in this)) return thisError('delete');
    if (this.#state === DELETED) return;
    if (this.#state === RESETTING) throw busyError('delete', this.#name, 'is being reset (called from an onReset callback?)');
    if (this.#pins !== 0) {
      this.#deletePending = true;
      this.#small = -1;
      return;
    }
    let failure = { thrown: false, value: undefined as unknown };
    try {
      if (this.#callbacks !== null || this.#children !== null) failure = this.#clearTree();
      native.destroy(this.#h, this.#abs ?? undefined, this.#off);
    } finally {
      if (young[young.length - 1] === this) young.pop();
      this.#markDeleted();
      const parent = this.#parent;
      if (parent !== null && parent.#children !== null) parent.#children.delete(this);
    }
    if (failure.thrown) throw failure.value;
  }

  [Symbol.dispose](): void {
    this.delete();
  }

  /** True once delete() has run (or a parent's reset/delete took this context with it). */
  get deleted(): boolean {
    if (!(#off in this)) return thisError('deleted');
    return this.#state === DELETED || this.#deletePending;
  }

  /** The parent context, or null for a root. */
  get parent(): MemoryContext | null {
    if (!(#off in this)) return thisError('parent');
    return this.#parent;
  }

  /** Live children (a copy). */
  get children(): MemoryContext[] {
    if (!(#off in this)) return thisError('children');
    return this.#children === null ? [] : [...this.#children];
  }

  /**
   * Keep the memory alive for I/O in flight (an fs.read into one of its Buffers): delete() and
   * the lifetime helpers wait for the returned function to be called; reset() refuses.
   */
  pin(): () => void {
    if (!(#off in this)) return thisError('pin');
    this.#checkUsable('pin');
    for (let c: MemoryContext | null = this; c !== null; c = c.#parent) c.#pins++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      // Every count goes down before any deferred delete runs: a delete whose callback throws
      // must not leave an ancestor pinned.
      const due: MemoryContext[] = [];
      for (let c: MemoryContext | null = this; c !== null; c = c.#parent) {
        c.#pins--;
        if (c.#pins === 0 && c.#deletePending && c.#state === LIVE) due.push(c);
      }
      const failure = { thrown: false, value: undefined as unknown };
      for (const c of due) {
        c.#deletePending = false;
        try {
          c.delete();
        } catch (err) {
          if (!failure.thrown) {
            failure.thrown = true;
            failure.value = err;
          }
        }
      }
      if (failure.thrown) throw failure.value;
    };
  }

  /** Statistics of this context and its children (commits the JS-side bump offset first). */
  stats(): ContextStats {
    if (!(#off in this)) return thisError('stats');
    this.#checkUsable('stats');
    // Iterative: a tree thousands of levels deep must not overflow the stack.
    const root = this.#statsOne();
    const stack: Array<[MemoryContext, ContextStats]> = [[this, root]];
    while (stack.length > 0) {
      const [ctx, out] = stack.pop()!;
      if (ctx.#children === null) continue;
      for (const c of ctx.#children) {
        const s = c.#statsOne();
        out.children.push(s);
        stack.push([c, s]);
      }
    }
    return root;
  }

  #statsOne(): ContextStats {
    if (this.#off >= 0) native.commit(this.#h, this.#off, this.#freeBytes);
    const s = native.contextStats(this.#h);
    return {
      name: s.name,
      totalBytes: s.totalBytes,
      usedBytes: s.usedBytes,
      freeBytes: s.freeBytes,
      limitBytes: s.limitBytes,
      freeListBytes: this.#freeBytes,
      chunkCount: s.chunkCount,
      largeCount: s.largeCount,
      releaseMode: this.#mode,
      chunks: s.chunks,
      children: [],
    };
  }

  /** Verify the C structures under this context (mcx_check); throws MemctxError on corruption. */
  check(): void {
    if (!(#off in this)) return thisError('check');
    this.#checkUsable('check');
    if (this.#off >= 0) native.commit(this.#h, this.#off, this.#freeBytes);
    const status = native.check(this.#h);
    if (status !== 0) throw new MemctxError(`check: the memory context "${this.#name}" failed its invariant check`, 'ERR_MEMCTX_CORRUPT', status);
  }

  get [Symbol.toStringTag](): string {
    return 'MemoryContext';
  }

  // ---- internals ----------------------------------------------------------------------------

  #checkUsable(method: string): void {
    if (this.#state === DELETED || this.#deletePending) throw deletedError(method, this.#name);
    if (this.#state === RESETTING) throw busyError(method, this.#name, 'is being reset (called from an onReset callback?)');
  }

  /** Descendants in post-order (children before parents), without recursion. */
  #descendants(): MemoryContext[] {
    const out: MemoryContext[] = [];
    if (this.#children === null) return out;
    const stack: Array<[MemoryContext, boolean]> = [];
    for (const c of this.#children) stack.push([c, false]);
    while (stack.length > 0) {
      const [c, expanded] = stack.pop()!;
      if (expanded || c.#children === null || c.#children.size === 0) {
        out.push(c);
        continue;
      }
      stack.push([c, true]);
      for (const g of c.#children) stack.push([g, false]);
    }
    return out;
  }

  /**
   * The first half of reset and delete: every context of the tree is marked busy (so a callback
   * cannot delete or reset a part of it halfway), the callbacks run (descendants first, then
   * ours, each list last registered first; a throw of any value is kept and rethrown once all
   * have run), then the descendants' buffers are detached and the descendants marked deleted.
   * Their C contexts go with ours in the native call that follows.
   */
  #clearTree(): { thrown: boolean; value: unknown } {
    const tree = this.#descendants();
    for (const d of tree) {
      d.#state = RESETTING;
      d.#small = -1; // allocations take the slow path, which refuses them while busy
    }
    this.#state = RESETTING;
    this.#small = -1;
    const failure = { thrown: false, value: undefined as unknown };
    for (const ctx of [...tree, this]) {
      const cbs = ctx.#callbacks;
      if (cbs === null) continue;
      ctx.#callbacks = null;
      runAll(cbs, failure);
    }
    for (const d of tree) {
      native.detachAll(d.#h, d.#abs ?? undefined, d.#off);
      d.#markDeleted();
    }
    this.#children = null;
    return failure;
  }

  #markDeleted(): void {
    this.#state = DELETED;
    this.#deletePending = false;
    this.#small = -1;
    this.#off = 1;
    this.#end = 0;
    this.#abs = null;
    this.#free = null;
    this.#freeBytes = 0;
    this.#callbacks = null;
    this.#children = null;
    // No registry.unregister(): when this object is collected the backstop finds the handle
    // dead (its generation moved on) and does nothing; unregistering would cost every delete.
  }
}

function thisError(member: string): never {
  throw invalidThis(`MemoryContext.prototype.${member}`, 'a MemoryContext created by this load of memctx');
}

function fillBuffer(buf: Buffer, fill: string | number | Uint8Array, encoding: BufferEncoding | undefined): Buffer {
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
