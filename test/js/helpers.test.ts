// test/js/helpers.test.ts - withContext deletes after the promise settles; contextFor /
// contextForResponse tie a context to an http response ('finish' or 'close') or a stream.
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex, PassThrough, Transform, Writable } from 'node:stream';
import { MemoryContext, withContext, contextFor, contextForResponse, bindToStream } from '../../lib';

describe('withContext', () => {
  test('deletes after the returned promise resolves, and passes the value through', async () => {
    let seen: MemoryContext | undefined;
    const v = await withContext(async (ctx) => {
      seen = ctx;
      const b = ctx.alloc(10, 1);
      await new Promise((r) => setTimeout(r, 5));
      expect(ctx.deleted).toBe(false);
      return b.reduce((a, x) => a + x, 0);
    }, { name: 'scoped' });
    expect(v).toBe(10);
    expect(seen!.deleted).toBe(true);
  });

  test('deletes after a rejection and after a synchronous throw', async () => {
    let seen: MemoryContext | undefined;
    await expect(withContext(async (ctx) => {
      seen = ctx;
      throw new Error('nope');
    })).rejects.toThrow('nope');
    expect(seen!.deleted).toBe(true);
    await expect(withContext((ctx) => {
      seen = ctx;
      throw new Error('sync');
    })).rejects.toThrow('sync');
    expect(seen!.deleted).toBe(true);
    expect(await withContext(() => 5)).toBe(5);
  });
});

describe('contextFor', () => {
  test('http response: deleted on finish, after the body went out', async () => {
    const contexts: MemoryContext[] = [];
    const server = http.createServer((req, res) => {
      const ctx = contextForResponse(res, { name: 'request' });
      contexts.push(ctx);
      const body = ctx.alloc(200000, req.url === '/a' ? 'a' : 'b');
      res.setHeader('content-length', body.length);
      res.end(body);
      expect(ctx.deleted).toBe(false);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const get = (p: string) =>
      new Promise<Buffer>((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path: p }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve(Buffer.concat(parts)));
        }).on('error', reject);
      });
    const [a, b] = await Promise.all([get('/a'), get('/b')]);
    expect(a.length).toBe(200000);
    expect(a.every((x) => x === 0x61)).toBe(true);
    expect(b.every((x) => x === 0x62)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(contexts.length).toBe(2);
    expect(contexts.every((c) => c.deleted)).toBe(true);
    await new Promise((r) => server.close(r));
  });

  test('http response: deleted on close when the client goes away', async () => {
    let ctx: MemoryContext | undefined;
    const closed = new Promise<void>((resolve) => {
      const server = http.createServer((_req, res) => {
        ctx = contextFor(res);
        ctx.alloc(100);
        res.once('close', () => setImmediate(() => {
          server.close();
          resolve();
        }));
        res.write(ctx.alloc(10, 'x')); // never ended: the client aborts
      });
      server.listen(0, '127.0.0.1', () => {
        const req = http.get({ port: (server.address() as { port: number }).port, host: '127.0.0.1' }, (res) => {
          res.once('data', () => req.destroy());
        });
        req.on('error', () => undefined);
      });
    });
    await closed;
    expect(ctx!.deleted).toBe(true);
  });

  test('streams: finish, close, error+close, already finished', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memctx-helpers-'));
    const s1 = fs.createWriteStream(path.join(dir, 'a'));
    const c1 = contextFor(s1);
    s1.end(c1.alloc(10));
    await new Promise<void>((r) => s1.once('finish', () => r()));
    expect(c1.deleted).toBe(true);

    const s2 = fs.createWriteStream(path.join(dir, 'b'));
    const c2 = contextFor(s2);
    s2.on('error', () => undefined);
    s2.destroy(new Error('x'));
    await new Promise<void>((r) => s2.once('close', () => r()));
    expect(c2.deleted).toBe(true);

    const s3 = fs.createWriteStream(path.join(dir, 'c'));
    s3.end();
    await new Promise<void>((r) => s3.once('close', () => r()));
    const c3 = bindToStream(new MemoryContext(), s3);
    expect(c3.deleted).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(c3.deleted).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("streams whose 'finish' does not mean the data left the process are refused", () => {
    const streams = [new PassThrough(), new Transform({ transform: (c, _e, cb) => cb(null, c) }), new Duplex({ read() {}, write: (_c, _e, cb) => cb() }),
      new Writable({ write: (_c, _e, cb) => cb() })];
    for (const s of streams) {
      expect(() => contextFor(s)).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_UNSAFE_STREAM' }));
      const ctx = new MemoryContext();
      expect(() => bindToStream(ctx, s)).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_UNSAFE_STREAM' }));
      expect(ctx.deleted).toBe(false);
      ctx.delete();
    }
  });

  test('a pin outlives the response', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memctx-helpers-'));
    const s = fs.createWriteStream(path.join(dir, 'pin'));
    const ctx = contextFor(s);
    const buf = ctx.alloc(16, 3);
    const unpin = ctx.pin();
    s.end();
    await new Promise<void>((r) => s.once('close', () => r()));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(ctx.deleted).toBe(true);
    expect(buf[15]).toBe(3);
    unpin();
    expect(buf.length).toBe(0);
  });
});
