// test/js/errors.test.ts - bad input throws TypeError/RangeError with a code and a message naming
// the argument, the expected and the received value; allocator conditions throw MemctxError with
// ERR_MEMCTX_* codes; nothing aborts the process.
import { MemoryContext, MemctxError, configure, getConfiguration, withContext, contextFor, bindToStream, testing } from '../../lib';

const bad = (code: string, pattern: RegExp) => expect.objectContaining({ code, message: expect.stringMatching(pattern) });

describe('argument validation', () => {
  const ctx = new MemoryContext({ name: 'err' });
  afterAll(() => ctx.delete());

  test.each([
    [-1, 'ERR_OUT_OF_RANGE', /"size" is out of range. It must be >= 0 && <= \d+. Received -1/],
    [1.5, 'ERR_OUT_OF_RANGE', /"size" is out of range. It must be an integer. Received 1.5/],
    [NaN, 'ERR_OUT_OF_RANGE', /"size" .* Received NaN/],
    [Infinity, 'ERR_OUT_OF_RANGE', /"size" .* Received Infinity/],
    [2 ** 53, 'ERR_OUT_OF_RANGE', /"size" is out of range. It must be >= 0 && <= \d+. Received 9007199254740992/],
    ['64', 'ERR_INVALID_ARG_TYPE', /"size" argument must be of type number. Received type string \("64"\)/],
    [undefined, 'ERR_INVALID_ARG_TYPE', /"size" argument must be of type number. Received undefined/],
    [10n, 'ERR_INVALID_ARG_TYPE', /Received 10n/],
  ])('allocUnsafe(%p) -> %s', (size, code, msg) => {
    expect(() => ctx.allocUnsafe(size as number)).toThrow(bad(code, msg));
    expect(() => ctx.alloc(size as number)).toThrow(bad(code, msg));
  });

  test('RangeError and TypeError classes', () => {
    expect(() => ctx.allocUnsafe(-1)).toThrow(RangeError);
    expect(() => ctx.allocUnsafe('1' as unknown as number)).toThrow(TypeError);
  });

  test('alloc fill and encoding', () => {
    expect(() => ctx.alloc(4, {} as unknown as number)).toThrow(bad('ERR_INVALID_ARG_TYPE', /"fill" argument/));
    expect(() => ctx.alloc(4, 'a', 5 as unknown as BufferEncoding)).toThrow(bad('ERR_INVALID_ARG_TYPE', /"encoding" argument/));
    expect(() => ctx.alloc(4, 'a', 'nope' as BufferEncoding)).toThrow(bad('ERR_INVALID_ARG_VALUE', /"encoding" must be a Buffer encoding.*Received type string \("nope"\)/));
  });

  test('constructor options', () => {
    expect(() => new MemoryContext(5 as unknown as object)).toThrow(bad('ERR_INVALID_ARG_TYPE', /"options" argument must be of type object. Received 5/));
    expect(() => new MemoryContext({ nmae: 'x' } as unknown as object)).toThrow(bad('ERR_INVALID_ARG_VALUE', /"options.nmae" is not a known option/));
    expect(() => new MemoryContext({ name: 3 as unknown as string })).toThrow(bad('ERR_INVALID_ARG_TYPE', /"options.name" argument must be of type string. Received 3/));
    expect(() => new MemoryContext({ parent: {} as MemoryContext })).toThrow(bad('ERR_INVALID_ARG_TYPE', /"options.parent" argument must be an instance of MemoryContext/));
    expect(() => new MemoryContext({ initialSize: -5 })).toThrow(bad('ERR_OUT_OF_RANGE', /"options.initialSize" is out of range/));
    expect(() => new MemoryContext({ limit: 0.5 })).toThrow(bad('ERR_OUT_OF_RANGE', /"options.limit" is out of range. It must be an integer. Received 0.5/));
    expect(() => new MemoryContext({ initialSize: 65536, maxChunkSize: 8192 })).toThrow(bad('ERR_INVALID_ARG_VALUE', /maxChunkSize/));
    expect(() => new MemoryContext({ releaseMode: 'fast' as 'detach' })).toThrow(bad('ERR_INVALID_ARG_VALUE', /"options.releaseMode" must be one of 'detach', 'reserve'. Received type string \("fast"\)/));
    expect(() => ctx.createChild({ parent: ctx } as object)).toThrow(bad('ERR_INVALID_ARG_VALUE', /options.parent/));
  });

  test('onReset, free, withContext, contextFor, bindToStream', () => {
    expect(() => ctx.onReset('x' as unknown as () => void)).toThrow(bad('ERR_INVALID_ARG_TYPE', /"callback" argument must be of type function/));
    expect(() => ctx.free(null as unknown as Buffer)).toThrow(bad('ERR_INVALID_ARG_TYPE', /"buf" argument must be an instance of Buffer or Uint8Array. Received null/));
    expect(() => withContext(null as unknown as () => void)).toThrow(bad('ERR_INVALID_ARG_TYPE', /"fn" argument must be of type function/));
    expect(() => contextFor({} as never)).toThrow(bad('ERR_INVALID_ARG_TYPE', /"stream" argument must be a stream/));
    expect(() => bindToStream({} as MemoryContext, {} as never)).toThrow(bad('ERR_INVALID_ARG_TYPE', /"ctx" argument must be an instance of MemoryContext/));
  });

  test('configure refuses bad values and changes nothing', () => {
    const before = getConfiguration();
    expect(() => configure({ topChunkSize: 1000 })).toThrow(bad('ERR_OUT_OF_RANGE', /"options.topChunkSize" is out of range. It must be >= 262144/));
    expect(() => configure({ topChunkSize: 3 * 1024 * 1024 })).toThrow(bad('ERR_OUT_OF_RANGE', /must be a power of two. Received 3145728/));
    expect(() => configure({ decayMs: -1 })).toThrow(bad('ERR_OUT_OF_RANGE', /"options.decayMs"/));
    expect(() => configure({ retainBytes: '1' as unknown as number })).toThrow(bad('ERR_INVALID_ARG_TYPE', /"options.retainBytes" argument must be of type number/));
    expect(() => configure({ releaseMode: 'x' as 'detach' })).toThrow(bad('ERR_INVALID_ARG_VALUE', /releaseMode/));
    expect(() => configure({ maxTopChunkSize: 262144, topChunkSize: 524288 })).toThrow(bad('ERR_INVALID_ARG_VALUE', /"options.maxTopChunkSize" must be >= topChunkSize/));
    expect(() => configure({ bogus: 1 } as object)).toThrow(bad('ERR_INVALID_ARG_VALUE', /"options.bogus" is not a known option/));
    expect(getConfiguration()).toEqual(before);
  });
});

describe('allocator conditions', () => {
  afterEach(() => testing.failMapping(0, 0));

  test('out of memory (the OS refuses a mapping) is ERR_MEMCTX_OOM and leaves everything usable', () => {
    const ctx = new MemoryContext();
    testing.failMapping(1, 1);
    let err: unknown;
    try {
      ctx.allocUnsafe(64 * 1024 * 1024); // needs a mapping of its own
    } catch (e) {
      err = e;
    }
    testing.failMapping(0, 0);
    expect(err).toBeInstanceOf(MemctxError);
    expect((err as MemctxError).code).toBe('ERR_MEMCTX_OOM');
    expect((err as MemctxError).status).toBeLessThan(0);
    expect(ctx.allocUnsafe(64 * 1024 * 1024).length).toBe(64 * 1024 * 1024);
    ctx.check();
    ctx.delete();
  });

  test('external ArrayBuffers forbidden (napi_no_external_buffers_allowed): a MemctxError, not a crash', () => {
    testing.forbidExternalBuffers(true);
    let err: unknown;
    try {
      new MemoryContext();
    } catch (e) {
      err = e;
    } finally {
      testing.forbidExternalBuffers(false);
    }
    expect(err).toBeInstanceOf(MemctxError);
    expect((err as MemctxError).code).toBe('ERR_MEMCTX_NO_EXTERNAL_BUFFERS');
    expect((err as MemctxError).message).toMatch(/external ArrayBuffers are not allowed/);
    // and the same when a context that exists needs a new chunk
    const ctx = new MemoryContext();
    testing.forbidExternalBuffers(true);
    try {
      expect(() => ctx.allocUnsafe(4 * 1024 * 1024)).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_NO_EXTERNAL_BUFFERS' }));
      expect(() => {
        for (let i = 0; i < 1000; i++) ctx.allocUnsafe(1000);
      }).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_NO_EXTERNAL_BUFFERS' }));
    } finally {
      testing.forbidExternalBuffers(false);
    }
    expect(ctx.allocUnsafe(1000).length).toBe(1000);
    ctx.check();
    ctx.delete();
  });

  test('MemctxError is an Error with name, code and status', () => {
    const e = new MemctxError('m', 'ERR_MEMCTX_LIMIT', -3);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('MemctxError');
    expect(Object.prototype.toString.call(e)).toBe('[object MemctxError]');
  });
});
