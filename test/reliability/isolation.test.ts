// test/reliability/isolation.test.ts - owns the isolation tests of the facade: alloc() never
// returns bytes written by another context (or by the same context before a reset), allocUnsafe()
// never hands out memory that overlaps a live Buffer of another context nor bytes another context
// wrote (contexts are scrubbed when they give memory back), and a Buffer that is not
// a live allocation of the context (another context's, Node's own, a plain Uint8Array, one made
// stale by reset/delete) is refused by free() and realloc() with a clear error. The write past the
// end of an allocation is a C-level check (the checking build's sentinel): test/c/test_checking.c.
import { MemoryContext, trim } from '../../lib';
import { fillPattern, firstBadByte } from './support/pattern';

const SIZES = [1, 16, 100, 4000, 70_000, 300_000, (1 << 20) + 5];

function dirty(ctx: MemoryContext, rounds: number): Buffer[] {
  const out: Buffer[] = [];
  for (let r = 0; r < rounds; r++) for (const n of SIZES) out.push(ctx.allocUnsafe(n).fill(0xaa));
  return out;
}

describe.each(['detach', 'reserve'] as const)('release mode %s', (releaseMode) => {
  test('alloc() never returns bytes written by a deleted context', () => {
    const a = new MemoryContext({ name: 'writer', releaseMode });
    dirty(a, 20);
    a.delete();
    const b = new MemoryContext({ name: 'reader', releaseMode });
    for (let r = 0; r < 20; r++) {
      for (const n of SIZES) {
        const buf = b.alloc(n);
        const nz = buf.findIndex((v) => v !== 0);
        if (nz >= 0) throw new Error(`alloc(${n}) in a new context shows byte ${nz} = ${buf[nz]} (the deleted context wrote 0xaa)`);
      }
    }
    b.delete();
  });

  test('alloc() never returns bytes written before a reset of the same context', () => {
    const a = new MemoryContext({ name: 'reused', releaseMode });
    for (let cycle = 0; cycle < 5; cycle++) {
      for (const n of SIZES) {
        const buf = a.alloc(n);
        expect(buf.findIndex((v) => v !== 0)).toBe(-1);
        buf.fill(0xaa);
      }
      a.reset();
    }
    a.delete();
  });

  test('allocUnsafe() never overlaps a live Buffer of another context', () => {
    const a = new MemoryContext({ name: 'owner', releaseMode });
    const mine = SIZES.flatMap((n, k) => [0, 1, 2].map((j) => {
      const buf = a.allocUnsafe(n);
      fillPattern(buf, 100 + k * 3 + j);
      return { buf, id: 100 + k * 3 + j };
    }));
    const b = new MemoryContext({ name: 'neighbour', releaseMode });
    for (let r = 0; r < 30; r++) {
      for (const n of SIZES) b.allocUnsafe(n).fill(0x55);
      if (r % 10 === 9) {
        b.reset();
        trim();
      }
    }
    for (const m of mine) expect(firstBadByte(m.buf, m.id)).toBe(-1);
    a.delete();
    b.delete();
  });
});

test('allocUnsafe() after another context was deleted: none of that context\'s bytes', () => {
  const a = new MemoryContext({ name: 'writer' });
  dirty(a, 20);
  a.delete();
  const b = new MemoryContext({ name: 'reader' });
  let seen = 0;
  let total = 0;
  for (let r = 0; r < 20; r++) {
    for (const n of SIZES) {
      const buf = b.allocUnsafe(n);
      total += n;
      for (let i = 0; i < n; i++) seen += buf[i] === 0xaa ? 1 : 0;
    }
  }
  b.delete();
  expect(total).toBeGreaterThan(0);
  expect(seen).toBe(0);
});

describe('foreign and stale Buffers are refused by free() and realloc()', () => {
  const a = new MemoryContext({ name: 'a' });
  const b = new MemoryContext({ name: 'b' });
  afterAll(() => {
    a.delete();
    b.delete();
  });
  const cases: Array<[string, () => Uint8Array]> = [
    ['a Buffer of another context', () => b.alloc(32)],
    ['a large Buffer of another context', () => b.alloc(2 << 20)],
    ["Node's Buffer.alloc", () => Buffer.alloc(32)],
    ["a slice of Node's pool (Buffer.from)", () => Buffer.from('pool bytes')],
    ['a plain Uint8Array', () => new Uint8Array(32)],
    ['a Buffer made stale by reset()', () => {
      const c = new MemoryContext({ name: 'c' });
      const buf = c.alloc(32);
      c.reset();
      c.delete();
      return buf;
    }],
  ];
  test.each(cases)('free(%s) throws a TypeError with code ERR_INVALID_ARG_VALUE', (_name, make) => {
    const buf = make();
    expect(() => a.free(buf)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => a.free(buf)).toThrow(TypeError);
  });
  test.each(cases)('realloc(%s, 64) throws ERR_INVALID_ARG_VALUE', (_name, make) => {
    const buf = make();
    expect(() => a.realloc(buf, 64)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
  test('a Buffer freed twice is refused the second time (ERR_MEMCTX_DOUBLE_FREE)', () => {
    const keep = a.alloc(64); // so the freed one is not the last bump (rolled back)
    const buf = a.alloc(64);
    a.alloc(16);
    a.free(buf);
    expect(() => a.free(buf)).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_DOUBLE_FREE' }));
    a.free(keep);
  });
  test('the refusals changed nothing: a fresh allocation of a is usable and b is intact', () => {
    const mine = b.alloc(4096);
    fillPattern(mine, 5);
    const fresh = a.alloc(4096);
    expect(fresh.findIndex((v) => v !== 0)).toBe(-1);
    expect(firstBadByte(mine, 5)).toBe(-1);
    a.check();
    b.check();
  });
});

// free() may be given only what an allocation returned: a view into the middle of a live one is
// refused, so a later allocation cannot land inside the live Buffer.
test('free() of a view into the middle of a live allocation is refused', () => {
  const ctx = new MemoryContext({ name: 'interior' });
  try {
    const big = ctx.alloc(64);
    fillPattern(big, 9);
    let refused = false;
    try {
      ctx.free(big.subarray(16, 32));
    } catch {
      refused = true;
    }
    ctx.alloc(16, 0x22);
    expect(firstBadByte(big, 9)).toBe(-1);
    expect(refused).toBe(true);
  } finally {
    ctx.delete();
  }
});
