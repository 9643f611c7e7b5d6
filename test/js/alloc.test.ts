// test/js/alloc.test.ts - allocUnsafe/alloc: Buffers that are views into process chunks, never
// overlapping, zero-filled or filled like Buffer.alloc, forwarding to doubled chunks, large
// allocations with chunks of their own, and the C accounting kept true.
import { MemoryContext } from '../../lib';

function pattern(buf: Buffer, seed: number): void {
  for (let i = 0; i < buf.length; i++) buf[i] = (seed * 31 + i) & 0xff;
}
function hasPattern(buf: Buffer, seed: number): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== ((seed * 31 + i) & 0xff)) return false;
  return true;
}

describe('allocUnsafe', () => {
  let ctx: MemoryContext;
  beforeEach(() => {
    ctx = new MemoryContext({ name: 'alloc-test' });
  });
  afterEach(() => ctx.delete());

  test('returns real Buffers of the requested length', () => {
    for (const size of [0, 1, 15, 16, 17, 64, 1000, 4096]) {
      const b = ctx.allocUnsafe(size);
      expect(Buffer.isBuffer(b)).toBe(true);
      expect(b).toBeInstanceOf(Uint8Array);
      expect(b.length).toBe(size);
      expect(b.byteLength).toBe(size);
      // Buffer methods work on it
      b.fill(7);
      expect(b.equals(Buffer.alloc(size, 7))).toBe(true);
    }
  });

  test('methods that make new arrays work: map, filter, subarray, slice, toJSON', () => {
    const b = ctx.alloc(8, 2);
    const mapped = b.map((v) => v * 2);
    expect(mapped.length).toBe(8);
    expect(mapped[0]).toBe(4);
    expect(mapped.buffer).not.toBe(b.buffer); // a fresh array, not a view into the chunk
    expect(b.filter((v) => v === 2).length).toBe(8);
    const sub = b.subarray(2, 4);
    expect(Buffer.isBuffer(sub)).toBe(true);
    expect(sub.buffer).toBe(b.buffer);
    expect(sub.byteOffset).toBe(b.byteOffset + 2);
    expect(Buffer.isBuffer(b.slice(1, 3))).toBe(true);
    expect(b.toJSON()).toEqual({ type: 'Buffer', data: [2, 2, 2, 2, 2, 2, 2, 2] });
    expect(b.toString('hex')).toBe('0202020202020202');
  });

  test('allocations are 16-byte aligned views sharing one chunk ArrayBuffer', () => {
    const a = ctx.allocUnsafe(3);
    const b = ctx.allocUnsafe(40);
    const c = ctx.allocUnsafe(1);
    expect(a.buffer).toBe(b.buffer);
    expect(b.buffer).toBe(c.buffer);
    for (const x of [a, b, c]) expect(x.byteOffset % 16).toBe(0);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + 16);
    expect(c.byteOffset).toBeGreaterThanOrEqual(b.byteOffset + 48);
  });

  test('thousands of allocations across chunk forwarding never overlap', () => {
    const bufs: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const b = ctx.allocUnsafe(1 + ((i * 7919) % 700));
      pattern(b, i);
      bufs.push(b);
    }
    bufs.forEach((b, i) => expect(hasPattern(b, i)).toBe(true));
    const s = ctx.stats();
    expect(s.chunkCount).toBeGreaterThan(1);
    // forwarding doubles the chunk size up to the maximum
    for (let i = 1; i < s.chunks.length; i++) {
      expect(s.chunks[i]!.size).toBeGreaterThanOrEqual(s.chunks[i - 1]!.size);
    }
    expect(s.chunks[1]!.size).toBe(2 * s.chunks[0]!.size);
    const handedOut = bufs.reduce((n, b) => n + b.length, 0);
    expect(s.usedBytes).toBeGreaterThanOrEqual(handedOut);
    expect(s.totalBytes).toBe(s.usedBytes + s.freeBytes);
  });

  test('large allocations get an ArrayBuffer (and a process chunk) of their own', () => {
    const small = ctx.allocUnsafe(100);
    const big = ctx.allocUnsafe(4 * 1024 * 1024);
    expect(big.length).toBe(4 * 1024 * 1024);
    expect(big.buffer).not.toBe(small.buffer);
    expect(big.byteOffset).toBe(0);
    big.fill(0xab);
    expect(big[big.length - 1]).toBe(0xab);
    const s = ctx.stats();
    expect(s.largeCount).toBe(1);
    expect(s.totalBytes).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    // small allocations continue in the chunk after the large one
    const after = ctx.allocUnsafe(100);
    expect(after.buffer).toBe(small.buffer);
  });

  test('stats follow the JS bump pointer', () => {
    const before = ctx.stats().usedBytes;
    ctx.allocUnsafe(1000);
    const after = ctx.stats().usedBytes;
    expect(after - before).toBeGreaterThanOrEqual(1000);
    expect(after - before).toBeLessThan(1000 + 64);
  });
});

describe('alloc', () => {
  test('zero-fills even memory that held data before a reset', () => {
    const ctx = new MemoryContext();
    const dirty = ctx.allocUnsafe(4096);
    dirty.fill(0xff);
    ctx.reset();
    const clean = ctx.alloc(4096);
    expect(clean.every((x) => x === 0)).toBe(true);
    const big = ctx.alloc(3 * 1024 * 1024);
    expect(big.every((x) => x === 0)).toBe(true);
    ctx.delete();
  });

  test('fills like Buffer.alloc(size, fill, encoding)', () => {
    const ctx = new MemoryContext();
    expect(ctx.alloc(5, 1).equals(Buffer.alloc(5, 1))).toBe(true);
    expect(ctx.alloc(7, 'ab').equals(Buffer.alloc(7, 'ab'))).toBe(true);
    expect(ctx.alloc(6, '6162', 'hex').equals(Buffer.alloc(6, '6162', 'hex'))).toBe(true);
    expect(ctx.alloc(5, Buffer.from([1, 2])).equals(Buffer.alloc(5, Buffer.from([1, 2])))).toBe(true);
    expect(ctx.alloc(0, 9).length).toBe(0);
    ctx.delete();
  });

  test('allocations in a free list are reused only for their exact size class', () => {
    const ctx = new MemoryContext();
    const a = ctx.allocUnsafe(64);
    ctx.allocUnsafe(64); // keep a from being the last bump
    ctx.free(a);
    const other = ctx.allocUnsafe(128);
    expect(other.byteOffset).not.toBe(a.byteOffset);
    const same = ctx.allocUnsafe(60); // rounds to 64
    expect(same.byteOffset).toBe(a.byteOffset);
    expect(same.buffer).toBe(a.buffer);
    ctx.delete();
  });
});
