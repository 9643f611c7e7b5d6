// demo/src/bodies.ts - the deterministic bytes of the demo: response bodies, the data file and request payloads.
//
// The service writes these bytes into (context) Buffers and the load client recomputes them to
// check every response byte for byte. A body is a function of a seed: 4 KiB blocks that each open
// with a 16-byte tag naming the seed and the block, followed by a seed-rotated slice of a fixed
// pseudo-random pattern. Freed or foreign memory on the wire (another request's bytes, a reused
// chunk) therefore shows up as a wrong tag or a wrong rotation. Everything is printable ASCII, so
// autocannon's string view of a body is exact.

export const BLOCK_BYTES = 4096;
export const TAG_BYTES = 16;
const PATTERN_BYTES = 65536;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Seed of the data file served by /file: file byte p equals body(FILE_SEED) byte p. */
export const FILE_SEED = 0x5eed;

function makePattern(): Buffer {
  const out = Buffer.allocUnsafe(PATTERN_BYTES * 2);
  let x = 0x9e3779b9 >>> 0;
  for (let i = 0; i < PATTERN_BYTES; i++) {
    // xorshift32: a fixed, cheap pseudo-random sequence.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = ALPHABET.charCodeAt(x & 63);
  }
  // Doubled so that any PATTERN_BYTES-long window starting below PATTERN_BYTES is contiguous.
  out.copy(out, PATTERN_BYTES, 0, PATTERN_BYTES);
  return out;
}

const PATTERN = makePattern();

function rotation(seed: number): number {
  return (Math.imul(seed >>> 0, 2654435761) >>> 16) & (PATTERN_BYTES - 1);
}

function hex(value: number, digits: number): string {
  return (value >>> 0).toString(16).padStart(digits, '0').slice(-digits);
}

/** The 16-byte tag opening block `block` of body `seed`: "#" + 8 hex + 6 hex + "\n". */
export function blockTag(seed: number, block: number): string {
  return `#${hex(seed, 8)}${hex(block, 6)}\n`;
}

/**
 * Fill `target` with the bytes of body(seed) from body position `bodyOffset` on. Works on any
 * Buffer (plain or from a memory context): copies from the pattern, no allocation beyond the tags.
 */
export function fillBody(target: Uint8Array, seed: number, bodyOffset: number): void {
  const rot = rotation(seed);
  let written = 0;
  const total = target.length;
  while (written < total) {
    const pos = bodyOffset + written;
    const block = Math.floor(pos / BLOCK_BYTES);
    const inBlock = pos - block * BLOCK_BYTES;
    if (inBlock < TAG_BYTES) {
      const tag = blockTag(seed, block);
      const n = Math.min(TAG_BYTES - inBlock, total - written);
      for (let i = 0; i < n; i++) target[written + i] = tag.charCodeAt(inBlock + i);
      written += n;
      continue;
    }
    const n = Math.min(BLOCK_BYTES - inBlock, total - written);
    const from = (rot + pos) & (PATTERN_BYTES - 1);
    target.set(PATTERN.subarray(from, from + n), written);
    written += n;
  }
}

/** A fresh plain Buffer holding body(seed)[offset, offset + sizeBytes). */
export function expectedBody(seed: number, sizeBytes: number, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(sizeBytes);
  fillBody(out, seed, offset);
  return out;
}

/** Small deterministic PRNG (mulberry32) for request parameters. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A size between minBytes and maxBytes, log-uniform (many small bodies, some large ones). */
export function logUniformBytes(rand: () => number, minBytes: number, maxBytes: number): number {
  const lo = Math.log(minBytes);
  const hi = Math.log(maxBytes);
  return Math.round(Math.exp(lo + (hi - lo) * rand()));
}

export interface IngestPayload {
  seed: number;
  /** Size of the response body the service must send back. */
  size: number;
  items: number[];
  /** Sum of items modulo 2^32, checked by the service after parsing. */
  check: number;
}

/** The JSON request body of POST /ingest for `seed`: a few KiB of numbers with a checksum. */
export function ingestPayload(seed: number, responseBytes: number): string {
  const rand = prng(seed ^ 0xa5a5a5a5);
  const count = 200 + Math.floor(rand() * 1200);
  const items: number[] = new Array<number>(count);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const v = Math.floor(rand() * 1_000_000);
    items[i] = v;
    sum = (sum + v) >>> 0;
  }
  const payload: IngestPayload = { seed, size: responseBytes, items, check: sum };
  return JSON.stringify(payload);
}

/** Sum of items modulo 2^32, as the service recomputes it. */
export function itemsChecksum(items: readonly number[]): number {
  let sum = 0;
  for (const v of items) sum = (sum + v) >>> 0;
  return sum;
}
