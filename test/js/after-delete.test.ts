// test/js/after-delete.test.ts - every method of a deleted context (deleted directly, through its
// parent, or through its parent's reset) throws MemctxError ERR_MEMCTX_DELETED; nothing crashes;
// delete() itself stays safe to call again.
import { Socket } from 'node:net';
import { MemoryContext, MemctxError, bindToStream } from '../../lib';

type Call = [string, (ctx: MemoryContext, keep: Buffer) => unknown];

const calls: Call[] = [
  ['allocUnsafe', (c) => c.allocUnsafe(16)],
  ['allocUnsafe(0)', (c) => c.allocUnsafe(0)],
  ['allocUnsafe(large)', (c) => c.allocUnsafe(8 * 1024 * 1024)],
  ['alloc', (c) => c.alloc(16)],
  ['alloc(fill)', (c) => c.alloc(16, 'x')],
  ['free', (c, keep) => c.free(keep)],
  ['realloc', (c, keep) => c.realloc(keep, 64)],
  ['reset', (c) => c.reset()],
  ['createChild', (c) => c.createChild()],
  ['new MemoryContext({ parent })', (c) => new MemoryContext({ parent: c })],
  ['onReset', (c) => c.onReset(() => undefined)],
  ['stats', (c) => c.stats()],
  ['check', (c) => c.check()],
  ['pin', (c) => c.pin()],
];

const ways: Array<[string, () => { ctx: MemoryContext; keep: Buffer }]> = [
  ['delete()', () => {
    const ctx = new MemoryContext({ name: 'gone' });
    const keep = ctx.allocUnsafe(16);
    ctx.delete();
    return { ctx, keep };
  }],
  ['parent.delete()', () => {
    const parent = new MemoryContext();
    const ctx = parent.createChild({ name: 'gone' });
    const keep = ctx.allocUnsafe(16);
    parent.delete();
    return { ctx, keep };
  }],
  ['parent.reset()', () => {
    const parent = new MemoryContext();
    const ctx = parent.createChild({ name: 'gone' });
    const keep = ctx.allocUnsafe(16);
    parent.reset();
    parent.delete();
    return { ctx, keep };
  }],
  ['[Symbol.dispose]()', () => {
    const ctx = new MemoryContext({ name: 'gone' });
    const keep = ctx.allocUnsafe(16);
    ctx[Symbol.dispose]();
    return { ctx, keep };
  }],
];

describe.each(ways)('after %s', (_how, make) => {
  test.each(calls)('%s throws ERR_MEMCTX_DELETED', (_name, call) => {
    const { ctx, keep } = make();
    let err: unknown;
    try {
      call(ctx, keep);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MemctxError);
    expect((err as MemctxError).code).toBe('ERR_MEMCTX_DELETED');
    expect((err as MemctxError).message).toMatch(/"gone" was deleted/);
  });

  test('delete() again, [Symbol.dispose](), the getters and bindToStream do not throw', () => {
    const { ctx, keep } = make();
    expect(() => ctx.delete()).not.toThrow();
    expect(() => ctx[Symbol.dispose]()).not.toThrow();
    expect(ctx.deleted).toBe(true);
    expect(ctx.children).toEqual([]);
    expect(keep.length).toBe(0); // detach mode: the stale view is empty
    const s = new Socket();
    expect(() => bindToStream(ctx, s)).not.toThrow();
    s.destroy();
  });
});
