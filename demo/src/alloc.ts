// demo/src/alloc.ts - the demo service's one switch between per-request memory contexts (memctx) and plain Buffers (baseline, trim).
//
// The handlers call forResponse(res) once per request and allocate every body, scratch and I/O
// buffer through what it returns. In memctx mode that is a MemoryContext tied to the response by
// the facade, deleted when the response emits 'finish' or 'close' (so a Buffer queued on the socket
// is never freed under libuv). In baseline and trim mode it is Buffer.allocUnsafe/alloc and V8's
// GC (the trim mode differs only by the service's malloc_trim timer). Either way the allocator
// counts the bytes each request holds until its response closes: the request memory in flight.
//
// A large body (an upload, a file range) is held the way each allocator's users would hold it:
// plain Buffers in one Buffer per body (what body parsers hand over after Buffer.concat; pieces
// would cost an ArrayBuffer each), memctx in pieces below the context's large-allocation threshold
// (an eighth of maxChunkSize, 128 KiB by default), which are carved from process chunks the next
// request reuses while their pages are warm. One memctx allocation of 1 MiB or more is a mapping of
// its own, freed with its context: fresh pages, a page fault per 4 KiB, for every such body.
import type { ServerResponse } from 'node:http';

export type Mode = 'memctx' | 'baseline' | 'trim';
export const MODES: readonly Mode[] = ['memctx', 'baseline', 'trim'];

export interface RequestMemory {
  allocUnsafe(sizeBytes: number): Buffer;
  alloc(sizeBytes: number): Buffer;
  /** Uninitialised Buffers holding a body of sizeBytes in order (every one but the last a whole number of 4 KiB blocks). */
  body(sizeBytes: number): Buffer[];
  /**
   * Keep the memory alive past 'finish'/'close' until the returned function is called: for async
   * I/O (fs.read) that writes into a request Buffer and may complete after the client has gone.
   */
  pin(): () => void;
}

export interface Allocator {
  readonly mode: Mode;
  /** Memory for one request, released after `res` emits 'finish' or 'close'. */
  forResponse(res: ServerResponse): RequestMemory;
  /** Bytes allocated by requests whose responses have not closed yet. */
  readonly bytesInFlight: number;
  /** The most bytes in flight since the last call (then restarts from the current figure). */
  takeMaxBytes(): number;
}

/** Wraps the mode's per-request memory with the in-flight byte count. */
function counting(mode: Mode, inner: (res: ServerResponse) => RequestMemory): Allocator {
  let inFlight = 0;
  let max = 0;
  const add = (n: number): void => {
    inFlight += n;
    if (inFlight > max) max = inFlight;
  };
  return {
    mode,
    get bytesInFlight() {
      return inFlight;
    },
    takeMaxBytes() {
      const m = max;
      max = inFlight;
      return m;
    },
    forResponse(res) {
      const mem = inner(res);
      let held = 0;
      res.once('close', () => {
        inFlight -= held;
        held = 0;
      });
      return {
        allocUnsafe(n) {
          held += n;
          add(n);
          return mem.allocUnsafe(n);
        },
        alloc(n) {
          held += n;
          add(n);
          return mem.alloc(n);
        },
        body(n) {
          held += n;
          add(n);
          return mem.body(n);
        },
        pin: () => mem.pin(),
      };
    },
  };
}

const noop = (): void => {};
const plain: RequestMemory = {
  allocUnsafe: (n) => Buffer.allocUnsafe(n),
  alloc: (n) => Buffer.alloc(n),
  body: (n) => [Buffer.allocUnsafe(n)],
  // V8 keeps a plain Buffer alive for as long as fs.read holds it.
  pin: () => noop,
};

type Facade = typeof import('../../dist/index');

/** Default size of memctx's body pieces: what Node's streams hand over, half the large threshold. */
export const DEFAULT_PIECE_BYTES = 64 * 1024;

/**
 * initialSizeBytes sizes each memctx request's first process chunk (0: the facade's default,
 * 16 KiB) and maxChunkBytes its largest (0: 1 MiB); pieceBytes is the size of memctx's body
 * pieces (0: one allocation per body).
 */
export function createAllocator(mode: Mode, initialSizeBytes = 0, pieceBytes = DEFAULT_PIECE_BYTES, maxChunkBytes = 0): Allocator {
  if (mode !== 'memctx') return counting(mode, () => plain);
  // Loaded only in memctx mode so that a baseline process never maps the addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const facade = require('../../dist/index') as Facade;
  // The facade's helper deletes the context on 'finish'/'close'; ctx.pin() defers that for fs.read.
  const options = {
    name: 'request',
    ...(initialSizeBytes > 0 ? { initialSize: initialSizeBytes } : {}),
    ...(maxChunkBytes > 0 ? { maxChunkSize: maxChunkBytes } : {}),
  };
  return counting(mode, (res) => {
    const ctx = facade.contextForResponse(res, options);
    return {
      allocUnsafe: (n) => ctx.allocUnsafe(n),
      alloc: (n) => ctx.alloc(n),
      body(n) {
        if (pieceBytes === 0 || n <= pieceBytes) return [ctx.allocUnsafe(n)];
        const pieces: Buffer[] = [];
        for (let off = 0; off < n; off += pieceBytes) pieces.push(ctx.allocUnsafe(Math.min(pieceBytes, n - off)));
        return pieces;
      },
      pin: () => ctx.pin(),
    };
  });
}
