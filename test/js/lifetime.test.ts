// test/js/lifetime.test.ts - reset, delete, children, reset callbacks, limit, `using`, pins.
import { MemoryContext, MemctxError, memoryStats } from '../../lib';

describe('reset and delete', () => {
  test('reset frees everything, keeps the context usable and its first chunk', () => {
    const ctx = new MemoryContext({ name: 'r' });
    for (let i = 0; i < 2000; i++) ctx.allocUnsafe(500);
    const grown = ctx.stats();
    expect(grown.chunkCount).toBeGreaterThan(1);
    ctx.reset();
    const s = ctx.stats();
    expect(s.chunkCount).toBe(1);
    expect(s.chunks[0]!.size).toBe(grown.chunks[0]!.size);
    expect(s.usedBytes).toBeLessThan(grown.usedBytes);
    const b = ctx.alloc(100, 3);
    expect(b[99]).toBe(3);
    ctx.delete();
  });

  test('after reset, the first forwarding step goes straight back to the largest chunk reached', () => {
    const ctx = new MemoryContext();
    for (let i = 0; i < 1000; i++) ctx.allocUnsafe(1000); // ~1 MB: chain 16 KiB .. 512 KiB
    const grown = ctx.stats().chunks;
    const peak = Math.max(...grown.map((c) => c.size));
    ctx.reset();
    for (let i = 0; i < 40; i++) ctx.allocUnsafe(1000); // overflows the 16 KiB first chunk
    const again = ctx.stats().chunks;
    expect(again).toHaveLength(2);
    expect(again[1]!.size).toBe(peak);
    ctx.delete();
  });

  test('delete is idempotent and takes the context out of the C tree', () => {
    const before = memoryStats().contextCount;
    const ctx = new MemoryContext();
    expect(memoryStats().contextCount).toBe(before + 1);
    ctx.delete();
    ctx.delete();
    expect(ctx.deleted).toBe(true);
    expect(memoryStats().contextCount).toBe(before);
  });

  test('children are deleted with their parent, and reset of the parent deletes them', () => {
    const root = new MemoryContext({ name: 'root' });
    const a = root.createChild({ name: 'a' });
    const b = a.createChild({ name: 'b' });
    const c = new MemoryContext({ name: 'c', parent: root });
    expect(a.parent).toBe(root);
    expect(root.children).toEqual([a, c]);
    const s = root.stats();
    expect(s.children.map((x) => x.name)).toEqual(['a', 'c']);
    expect(s.children[0]!.children[0]!.name).toBe('b');
    const bb = b.allocUnsafe(10);
    root.reset();
    expect(a.deleted && b.deleted && c.deleted).toBe(true);
    expect(root.deleted).toBe(false);
    expect(bb.length).toBe(0);
    expect(root.children).toEqual([]);
    const d = root.createChild();
    root.delete();
    expect(d.deleted).toBe(true);
  });

  test('a deep tree is reset without recursion trouble', () => {
    const root = new MemoryContext();
    let c = root;
    for (let i = 0; i < 2000; i++) c = c.createChild();
    const leaf = c.allocUnsafe(8);
    root.delete();
    expect(c.deleted).toBe(true);
    expect(leaf.length).toBe(0);
  });

  test('onReset callbacks: children first, then own, last registered first; once each', () => {
    const order: string[] = [];
    const root = new MemoryContext();
    const child = root.createChild();
    root.onReset(() => order.push('root-1')).onReset(() => order.push('root-2'));
    child.onReset(() => order.push('child-1')).onReset(() => order.push('child-2'));
    root.reset();
    expect(order).toEqual(['child-2', 'child-1', 'root-2', 'root-1']);
    root.reset();
    expect(order.length).toBe(4);
    root.onReset(() => order.push('at-delete'));
    root.delete();
    expect(order[4]).toBe('at-delete');
  });

  test('callbacks see the memory still intact, cannot reset recursively; a throwing callback does not stop the reset', () => {
    const ctx = new MemoryContext();
    const b = ctx.allocUnsafe(4);
    b.write('live');
    let seen = '';
    let inner: unknown;
    ctx.onReset(() => {
      seen = b.toString();
      try {
        ctx.allocUnsafe(1);
      } catch (err) {
        inner = err;
      }
    });
    ctx.onReset(() => {
      throw new Error('boom');
    });
    expect(() => ctx.reset()).toThrow('boom');
    expect(seen).toBe('live');
    expect(inner).toBeInstanceOf(MemctxError);
    expect((inner as MemctxError).code).toBe('ERR_MEMCTX_BUSY');
    expect(b.length).toBe(0);
    expect(ctx.allocUnsafe(4).length).toBe(4);
    ctx.delete();
  });

  test('Symbol.dispose deletes (TypeScript `using`)', () => {
    let kept: MemoryContext;
    {
      using ctx = new MemoryContext({ name: 'scoped' });
      kept = ctx;
      ctx.allocUnsafe(10);
    }
    expect(kept.deleted).toBe(true);
  });
});

describe('limit', () => {
  test('allocations beyond the limit fail with ERR_MEMCTX_LIMIT and leave the context usable', () => {
    const ctx = new MemoryContext({ limit: 64 * 1024 });
    expect(ctx.limit).toBe(64 * 1024);
    let err: unknown;
    const kept: Buffer[] = [];
    try {
      for (let i = 0; i < 10000; i++) kept.push(ctx.allocUnsafe(1024));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MemctxError);
    expect((err as MemctxError).code).toBe('ERR_MEMCTX_LIMIT');
    expect(kept.length).toBeGreaterThan(10);
    expect(ctx.stats().totalBytes).toBeLessThanOrEqual(64 * 1024);
    expect(() => ctx.allocUnsafe(1024 * 1024)).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_LIMIT' }));
    ctx.reset();
    expect(ctx.allocUnsafe(1024).length).toBe(1024);
    ctx.delete();
  });
});

describe('pins', () => {
  test('delete waits for the last unpin; reset refuses while pinned', () => {
    const ctx = new MemoryContext();
    const b = ctx.allocUnsafe(8);
    const unpin = ctx.pin();
    expect(() => ctx.reset()).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_BUSY' }));
    ctx.delete();
    expect(ctx.deleted).toBe(true);
    expect(b.length).toBe(8); // memory still there for the I/O in flight
    expect(() => ctx.allocUnsafe(1)).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_DELETED' }));
    unpin();
    unpin(); // idempotent
    expect(b.length).toBe(0);
  });

  test('a pinned child holds its parent’s delete too', () => {
    const root = new MemoryContext();
    const child = root.createChild();
    const b = child.allocUnsafe(8);
    const unpin = child.pin();
    root.delete();
    expect(b.length).toBe(8);
    unpin();
    expect(b.length).toBe(0);
    expect(child.deleted).toBe(true);
  });
});

describe('release modes in a tree', () => {
  test('a child takes its parent’s release mode; a different one is refused', () => {
    const root = new MemoryContext({ releaseMode: 'reserve' });
    expect(root.createChild().releaseMode).toBe('reserve');
    expect(() => root.createChild({ releaseMode: 'detach' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/parent's release mode \('reserve'\)/) }));
    root.delete();
  });
});
