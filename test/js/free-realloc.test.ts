// test/js/free-realloc.test.ts - free() returns memory to the context (reused by later
// allocations), refuses what is not a live allocation of this context; realloc() keeps the bytes.
import { MemoryContext, MemctxError } from '../../lib';

describe('free', () => {
  let ctx: MemoryContext;
  beforeEach(() => {
    ctx = new MemoryContext({ name: 'free-test' });
  });
  afterEach(() => ctx.delete());

  test('freed memory is reused and counted as free in stats', () => {
    const a = ctx.allocUnsafe(256);
    ctx.allocUnsafe(16);
    const usedBefore = ctx.stats().usedBytes;
    ctx.free(a);
    const s = ctx.stats();
    expect(s.freeListBytes).toBe(256);
    expect(s.usedBytes).toBe(usedBefore - 256);
    const b = ctx.allocUnsafe(256);
    expect(b.byteOffset).toBe(a.byteOffset);
    expect(ctx.stats().freeListBytes).toBe(0);
  });

  test('freeing the last allocation gives the bump space straight back', () => {
    ctx.allocUnsafe(32);
    const last = ctx.allocUnsafe(100);
    ctx.free(last);
    const next = ctx.allocUnsafe(100);
    expect(next.byteOffset).toBe(last.byteOffset);
    expect(ctx.stats().freeListBytes).toBe(0);
  });

  test('a second free of the same Buffer is refused with ERR_MEMCTX_DOUBLE_FREE', () => {
    const a = ctx.allocUnsafe(48);
    ctx.allocUnsafe(48);
    ctx.free(a);
    expect(() => ctx.free(a)).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_DOUBLE_FREE' }));
    const last = ctx.allocUnsafe(48);
    ctx.free(last);
    expect(() => ctx.free(last)).toThrow(MemctxError);
  });

  test('Buffers of another context, plain Buffers and mid-allocation views are refused', () => {
    const other = new MemoryContext({ name: 'other' });
    const foreign = other.allocUnsafe(32);
    expect(() => ctx.free(foreign)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' }));
    expect(() => ctx.free(foreign)).toThrow(/memory context "free-test"/);
    expect(() => ctx.free(Buffer.allocUnsafe(32))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    const mine = ctx.allocUnsafe(64);
    ctx.allocUnsafe(1);
    expect(() => ctx.free(mine.subarray(3))).toThrow(/not a view of one/);
    expect(() => ctx.free(mine.subarray(16, 32))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    // a view the program made itself over the chunk, past what was handed out
    const beyond = new Uint8Array(mine.buffer, mine.byteOffset + 4096, 16);
    expect(() => ctx.free(beyond)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => ctx.realloc(mine.subarray(16, 32), 8)).toThrow(/not a view of one/);
    expect(() => ctx.free('x' as unknown as Buffer)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    other.delete();
  });

  test('a Buffer from before reset() is refused', () => {
    const old = ctx.allocUnsafe(32);
    ctx.reset();
    expect(() => ctx.free(old)).toThrow(/before the last reset/);
  });

  test('a large allocation is released at once and its view detached', () => {
    const big = ctx.allocUnsafe(2 * 1024 * 1024);
    expect(ctx.stats().largeCount).toBe(1);
    ctx.free(big);
    expect(big.length).toBe(0);
    expect(ctx.stats().largeCount).toBe(0);
    expect(() => ctx.free(big)).toThrow();
  });
});

describe('realloc', () => {
  test('keeps the bytes when growing, shrinking, and crossing into a large allocation', () => {
    const ctx = new MemoryContext();
    let b = ctx.allocUnsafe(10);
    b.write('0123456789');
    b = ctx.realloc(b, 12); // within the 16-byte slot: in place
    expect(b.toString('latin1', 0, 10)).toBe('0123456789');
    ctx.allocUnsafe(8); // b is no longer the last bump
    const moved = ctx.realloc(b, 500);
    expect(moved.length).toBe(500);
    expect(moved.toString('latin1', 0, 10)).toBe('0123456789');
    const shrunk = ctx.realloc(moved, 4);
    expect(shrunk.toString()).toBe('0123');
    const large = ctx.realloc(shrunk, 3 * 1024 * 1024);
    expect(large.toString('latin1', 0, 4)).toBe('0123');
    const back = ctx.realloc(large, 3);
    expect(back.toString()).toBe('012');
    ctx.delete();
  });

  test('grows in place when the Buffer is the last allocation', () => {
    const ctx = new MemoryContext();
    const b = ctx.allocUnsafe(16);
    b.fill(1);
    const g = ctx.realloc(b, 200);
    expect(g.byteOffset).toBe(b.byteOffset);
    expect(g.buffer).toBe(b.buffer);
    expect(g.subarray(0, 16).every((x) => x === 1)).toBe(true);
    ctx.delete();
  });

  test('validates its arguments', () => {
    const ctx = new MemoryContext();
    const b = ctx.allocUnsafe(8);
    expect(() => ctx.realloc(b, -1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => ctx.realloc(b, 1.5)).toThrow(RangeError);
    expect(() => ctx.realloc(b, '8' as unknown as number)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => ctx.realloc(Buffer.alloc(8), 16)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    ctx.delete();
  });
});
