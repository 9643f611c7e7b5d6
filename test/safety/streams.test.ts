// test/safety/streams.test.ts - owns safety case 9 (docs/RELIABILITY.md, section 7): contextFor()/bindToStream() only on streams
// whose 'finish' means the bytes were handed to the OS. A PassThrough, Transform, Duplex, zlib
// stream or plain user Writable (and subclasses) is refused with MemctxError
// ERR_MEMCTX_UNSAFE_STREAM; an http.ServerResponse, a net.Socket and an fs.WriteStream are accepted
// and their context is deleted once they finish. A 6 MiB response written from context Buffers
// through a loopback HTTP server to a slow client, while other contexts write a secret, arrives
// complete and byte-exact. Both release modes.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex, PassThrough, Transform, Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { MemoryContext, bindToStream, configure, contextFor, MemctxError } from '../../lib';
import { containsSecret, patternByte, writeSecret } from './fixtures/secret';
import { MODES } from './fixtures/child';

class MyWritable extends Writable {
  override _write(_c: unknown, _e: BufferEncoding, cb: () => void): void {
    setTimeout(cb, 5);
  }
}

const unsafeStreams: Array<[string, () => NodeJS.EventEmitter]> = [
  ['PassThrough', () => new PassThrough()],
  ['Transform', () => new Transform({ transform(c, _e, cb) { cb(null, c); } })],
  ['Duplex', () => new Duplex({ read() {}, write(_c, _e, cb) { cb(); } })],
  ['plain Writable', () => new Writable({ write(_c, _e, cb) { setImmediate(cb); } })],
  ['Writable subclass', () => new MyWritable()],
  ['zlib Gzip', () => zlib.createGzip()],
];

function expectUnsafe(fn: () => unknown): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MemctxError);
  expect((caught as MemctxError).code).toBe('ERR_MEMCTX_UNSAFE_STREAM');
}

function fillFrom(buf: Uint8Array, id: number, offset: number): void {
  for (let i = 0; i < buf.length; i++) buf[i] = patternByte(id, offset + i);
}

/** Wait (bounded) until cond() holds: a context goes on 'finish' or on 'close', which comes later. */
async function eventually(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  return cond();
}

afterAll(() => {
  configure({ releaseMode: 'detach' });
});

describe.each([...MODES])('%s mode', (mode) => {
  beforeAll(() => {
    configure({ releaseMode: mode });
  });

  test.each(unsafeStreams)('contextFor(%s) is refused with ERR_MEMCTX_UNSAFE_STREAM', (_name, make) => {
    const s = make() as NodeJS.EventEmitter & { destroy?: () => void };
    expectUnsafe(() => contextFor(s as never, { releaseMode: mode }));
    s.destroy?.();
  });

  test.each(unsafeStreams)('bindToStream(ctx, %s) is refused with ERR_MEMCTX_UNSAFE_STREAM', (_name, make) => {
    const s = make() as NodeJS.EventEmitter & { destroy?: () => void };
    const ctx = new MemoryContext({ releaseMode: mode });
    try {
      expectUnsafe(() => bindToStream(ctx, s as never));
    } finally {
      ctx.delete();
      s.destroy?.();
    }
  });

  test('fs.WriteStream is accepted; the context goes after the file is written, bytes exact', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'memctx-safety-')), 'out.bin');
    const ws = fs.createWriteStream(file);
    const ctx = contextFor(ws, { releaseMode: mode });
    let off = 0;
    for (let i = 0; i < 40; i++) {
      const b = ctx.allocUnsafe(50_000);
      fillFrom(b, 9, off);
      off += b.length;
      ws.write(b);
    }
    expect(ctx.deleted).toBe(false);
    await new Promise<void>((r) => ws.end(r));
    expect(await eventually(() => ctx.deleted)).toBe(true);
    const got = fs.readFileSync(file);
    expect(got.length).toBe(off);
    let bad = -1;
    for (let i = 0; i < got.length && bad < 0; i++) if (got[i] !== patternByte(9, i)) bad = i;
    expect(bad).toBe(-1);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  test('net.Socket is accepted; the peer receives every byte', async () => {
    const received: Buffer[] = [];
    const server = net.createServer((sock) => {
      sock.on('data', (d: Buffer) => received.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const done = new Promise<void>((r) => server.on('connection', (s) => s.on('end', r)));
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const ctx = contextFor(sock, { releaseMode: mode });
    let off = 0;
    for (let i = 0; i < 30; i++) {
      const b = ctx.allocUnsafe(70_000);
      fillFrom(b, 11, off);
      off += b.length;
      sock.write(b);
    }
    sock.end();
    await done;
    server.close();
    expect(await eventually(() => ctx.deleted)).toBe(true);
    const got = Buffer.concat(received);
    expect(got.length).toBe(off);
    let bad = -1;
    for (let i = 0; i < got.length && bad < 0; i++) if (got[i] !== patternByte(11, i)) bad = i;
    expect(bad).toBe(-1);
  });

  test('a 6 MiB response from context Buffers to a slow client arrives complete and byte-exact', async () => {
    const TOTAL = 6 * 1024 * 1024;
    const PIECE = 64 * 1024;
    let serverCtx: MemoryContext | null = null;
    const server = http.createServer((_req, res) => {
      const ctx = contextFor(res, { releaseMode: mode });
      serverCtx = ctx;
      res.writeHead(200, { 'content-length': String(TOTAL) });
      for (let off = 0; off < TOTAL; off += PIECE) {
        const b = ctx.allocUnsafe(Math.min(PIECE, TOTAL - off));
        fillFrom(b, 13, off);
        res.write(b); // queued far beyond the socket's buffer: the client is not reading yet
      }
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    // meanwhile other contexts keep taking memory and writing the secret
    const churn = setInterval(() => {
      const c = new MemoryContext({ releaseMode: mode });
      for (let i = 0; i < 30; i++) writeSecret(c.allocUnsafe(PIECE));
      c.delete();
    }, 2);
    try {
      const body = await new Promise<Buffer>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port }, (res) => {
          const parts: Buffer[] = [];
          res.pause();
          setTimeout(() => {
            res.on('data', (d: Buffer) => parts.push(d));
            res.on('end', () => resolve(Buffer.concat(parts)));
            res.on('error', reject);
            res.resume();
          }, 300);
        }).on('error', reject);
      });
      expect(body.length).toBe(TOTAL);
      expect(containsSecret(body)).toBe(false);
      let bad = -1;
      for (let i = 0; i < body.length && bad < 0; i++) if (body[i] !== patternByte(13, i)) bad = i;
      expect(bad).toBe(-1);
      expect(await eventually(() => serverCtx!.deleted)).toBe(true);
    } finally {
      clearInterval(churn);
      server.close();
    }
  }, 30_000);
});
