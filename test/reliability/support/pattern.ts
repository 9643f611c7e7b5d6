// test/reliability/support/pattern.ts - owns the byte patterns of the JS reliability tests: every
// Buffer is filled with a pattern derived from an id, so a Buffer that shows another Buffer's
// bytes (or zeros, or garbage) is caught, and the index of the first wrong byte is reported.

/** The two 8-bit parameters of id's pattern (an offset and an odd slope): 32768 distinct
 * patterns, so a Buffer showing another Buffer's bytes is caught. Plain integer arithmetic: under
 * jest's vm context, Math.imul in these loops ran ~50x slower than in plain node. */
function params(id: number): [number, number] {
  const h = ((id % 65521) * 251 + ((id / 65521) | 0) * 17) % 65536;
  return [h & 255, ((h >>> 8) & 127) * 2 + 1];
}

/** Byte i of the pattern of id (never constant along a Buffer, different between ids). */
export function patternByte(id: number, i: number): number {
  const [a, m] = params(id);
  return (a + i * m + (i >>> 8)) & 255;
}

/** Fill buf[from, to) with the pattern of id. */
export function fillPattern(buf: Uint8Array, id: number, from = 0, to = buf.length): void {
  const [a, m] = params(id);
  for (let i = from; i < to; i++) buf[i] = (a + i * m + (i >>> 8)) & 255;
}

/** Fill buf with bytes [offset, offset + buf.length) of the pattern of id (a piece of a larger
 * payload sent in several Buffers). */
export function fillPatternFrom(buf: Uint8Array, id: number, offset: number): void {
  const [a, m] = params(id);
  for (let j = 0; j < buf.length; j++) {
    const i = offset + j;
    buf[j] = (a + i * m + (i >>> 8)) & 255;
  }
}

/** Index of the first byte of buf[from, to) that is not the pattern of id, or -1. */
export function firstBadByte(buf: Uint8Array, id: number, from = 0, to = buf.length): number {
  const [a, m] = params(id);
  for (let i = from; i < to; i++) if (buf[i] !== ((a + i * m + (i >>> 8)) & 255)) return i;
  return -1;
}

/**
 * Sampled check for large Buffers: both ends, and 16 bytes in every 4 KiB page at an offset that
 * moves with `salt` (a page zeroed or reused shows up); small Buffers are checked whole.
 */
export function firstBadByteSampled(buf: Uint8Array, id: number, salt: number): number {
  const n = buf.length;
  if (n <= 4096) return firstBadByte(buf, id);
  let bad = firstBadByte(buf, id, 0, 64);
  if (bad < 0) bad = firstBadByte(buf, id, n - 64, n);
  const shift = (salt * 272) % 4080;
  for (let off = shift; bad < 0 && off + 16 <= n; off += 4096) bad = firstBadByte(buf, id, off, off + 16);
  return bad;
}

/** Small deterministic PRNG (mulberry32) for the worker and loopback tests: the demo's. */
export { prng as rng } from '../../../demo/src/bodies';

/** Seconds a timed reliability test runs: MEMCTX_REL_SECONDS (CI's longer step), else dflt. */
export function relSeconds(dflt: number): number {
  const v = Number(process.env.MEMCTX_REL_SECONDS);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}
