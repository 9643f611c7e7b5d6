// test/js/capacity.test.ts - ensureCapacity(): a body of known length in pieces comes from one
// chunk sized to it (one ArrayBuffer, no doubling chain ending in a partly used chunk), room that
// is there already costs nothing, and bad input, a limit or a deleted context give coded errors.
import { MemoryContext, MemctxError } from '../../lib';

const KiB = 1024;
const MiB = 1024 * KiB;
const PIECE = 64 * KiB;
const BODY = 2.5 * MiB;

function pieces(ctx: MemoryContext, bytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < bytes; off += PIECE) out.push(ctx.allocUnsafe(Math.min(PIECE, bytes - off)));
  return out;
}

describe.each(['detach', 'reserve'] as const)('ensureCapacity (%s mode)', (releaseMode) => {
  test('a 2.5 MiB body in 64 KiB pieces takes one chunk of its own pages', () => {
    const ctx = new MemoryContext({ name: 'body', releaseMode });
    expect(ctx.ensureCapacity(BODY)).toBe(ctx);
    const body = pieces(ctx, BODY);
    const s = ctx.stats();
    expect(s.chunkCount).toBe(2); // the first chunk and the body's
    const chunk = s.chunks[1]!;
    expect(chunk.size).toBeGreaterThanOrEqual(BODY);
    expect(chunk.size).toBeLessThanOrEqual(BODY + 2 * 4096); // whole pages, not a 4 MiB power of two
    expect(new Set(body.map((b) => b.buffer)).size).toBe(1);
    body.forEach((b, i) => b.fill(i));
    body.forEach((b, i) => expect(b.every((x) => x === (i & 0xff))).toBe(true));
    ctx.check();
    ctx.delete();
  });

  test('without it the same body forwards through a doubling chain', () => {
    const ctx = new MemoryContext({ name: 'chain', releaseMode });
    pieces(ctx, BODY);
    const s = ctx.stats();
    expect(s.chunkCount).toBeGreaterThan(4);
    expect(s.chunkCount).toBeLessThan(10); // the chain doubles: not a chunk per piece
    expect(new Set(s.chunks.map((c) => c.size)).size).toBeGreaterThan(2);
    ctx.delete();
  });

  test('room the current chunk has already costs no forwarding', () => {
    const ctx = new MemoryContext({ name: 'room', releaseMode });
    const a = ctx.allocUnsafe(100);
    ctx.ensureCapacity(1000);
    const b = ctx.allocUnsafe(1000);
    expect(ctx.stats().chunkCount).toBe(1);
    expect(b.buffer).toBe(a.buffer);
    ctx.ensureCapacity(0);
    expect(ctx.stats().chunkCount).toBe(1);
    ctx.delete();
  });
});

test('bad sizes are refused with a coded error and nothing changes', () => {
  const ctx = new MemoryContext({ name: 'bad' });
  const before = ctx.stats();
  for (const v of [-1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER]) {
    expect(() => ctx.ensureCapacity(v)).toThrow(RangeError);
    try {
      ctx.ensureCapacity(v);
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ERR_OUT_OF_RANGE');
      expect((e as Error).message).toContain('sizeBytes');
    }
  }
  for (const v of ['1', null, undefined, {}, 1n]) {
    expect(() => ctx.ensureCapacity(v as unknown as number)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  }
  expect(ctx.stats().totalBytes).toBe(before.totalBytes);
  expect(ctx.allocUnsafe(10).length).toBe(10);
  ctx.delete();
});

test('over the limit: ERR_MEMCTX_LIMIT, and the context goes on', () => {
  const ctx = new MemoryContext({ name: 'capped', limit: 256 * KiB });
  let err: unknown;
  try {
    ctx.ensureCapacity(MiB);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MemctxError);
  expect((err as MemctxError).code).toBe('ERR_MEMCTX_LIMIT');
  const b = ctx.allocUnsafe(1000);
  b.fill(3);
  expect(b.every((x) => x === 3)).toBe(true);
  ctx.check();
  ctx.delete();
});

test('a deleted context, or a forged this, is refused', () => {
  const ctx = new MemoryContext({ name: 'gone' });
  ctx.delete();
  expect(() => ctx.ensureCapacity(10)).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_DELETED' }));
  const ensure = MemoryContext.prototype.ensureCapacity;
  expect(() => ensure.call({} as MemoryContext, 10)).toThrow(TypeError);
});
