// test/js/zero-copy.test.ts - context Buffers go straight to I/O: fs reads into them and writes
// from them, and a loopback socket sends them; the lifetime helpers keep the memory until the
// I/O is done.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryContext, withContext, contextFor } from '../../lib';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memctx-zc-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function content(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

describe('fs', () => {
  test('readSync and async read land in the context Buffer; the chunk ArrayBuffer is the target', async () => {
    const file = path.join(dir, 'in.bin');
    const data = content(300000);
    fs.writeFileSync(file, data);
    await withContext(async (ctx) => {
      const small = ctx.allocUnsafe(5000);
      const fd = fs.openSync(file, 'r');
      expect(fs.readSync(fd, small, 0, small.length, 0)).toBe(5000);
      fs.closeSync(fd);
      expect(small.equals(data.subarray(0, 5000))).toBe(true);
      const before = ctx.stats().usedBytes;
      const big = ctx.allocUnsafe(data.length);
      const fh = await fsp.open(file, 'r');
      const { bytesRead, buffer } = await fh.read(big, 0, big.length, 0);
      await fh.close();
      expect(bytesRead).toBe(data.length);
      expect(buffer).toBe(big); // the very same Buffer: no copy
      expect(big.equals(data)).toBe(true);
      expect(ctx.stats().usedBytes - before).toBeGreaterThanOrEqual(data.length);
    });
  });

  test('writeFile / writev from context Buffers', async () => {
    const file = path.join(dir, 'out.bin');
    await withContext(async (ctx) => {
      const parts = [ctx.alloc(1000, 'a'), ctx.alloc(70000, 'b'), ctx.alloc(2 * 1024 * 1024, 'c')];
      const fh = await fsp.open(file, 'w');
      await fh.writev(parts);
      await fh.close();
      const back = fs.readFileSync(file);
      expect(back.length).toBe(1000 + 70000 + 2 * 1024 * 1024);
      expect(back.subarray(0, 1000).every((x) => x === 0x61)).toBe(true);
      expect(back.subarray(1000, 71000).every((x) => x === 0x62)).toBe(true);
      expect(back[back.length - 1]).toBe(0x63);
      await fsp.writeFile(file, parts[1]!);
      expect(fs.statSync(file).size).toBe(70000);
    });
  });

  test('a pinned read keeps the memory past delete()', async () => {
    const file = path.join(dir, 'pin.bin');
    fs.writeFileSync(file, content(100000));
    const ctx = new MemoryContext();
    const buf = ctx.allocUnsafe(100000);
    const unpin = ctx.pin();
    const fh = await fsp.open(file, 'r');
    const reading = fh.read(buf, 0, buf.length, 0);
    ctx.delete(); // the request ended before the read completed
    const { bytesRead } = await reading;
    await fh.close();
    expect(bytesRead).toBe(100000);
    expect(buf.equals(content(100000))).toBe(true);
    unpin();
    expect(buf.length).toBe(0);
  });
});

describe('loopback socket', () => {
  test('context Buffers written to a socket arrive intact; contextFor deletes on finish', async () => {
    const received: Buffer[] = [];
    const server = net.createServer((sock) => {
      sock.on('data', (d) => received.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    const ctx = contextFor(client, { name: 'socket' });
    const expected: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const b = ctx.allocUnsafe(1000 + i * 37);
      for (let j = 0; j < b.length; j++) b[j] = (i + j) & 0xff;
      expected.push(Buffer.from(b)); // a copy for the comparison only
      client.write(b);
    }
    const big = ctx.alloc(3 * 1024 * 1024, 9);
    expected.push(Buffer.alloc(3 * 1024 * 1024, 9));
    client.write(big);
    expect(ctx.deleted).toBe(false); // writes may still be queued
    const finished = new Promise((r) => client.once('finish', r));
    client.end();
    await finished;
    await new Promise((r) => setImmediate(r));
    expect(ctx.deleted).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    const total = expected.reduce((n, b) => n + b.length, 0);
    for (let i = 0; i < 100 && received.reduce((n, b) => n + b.length, 0) < total; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(Buffer.concat(received).equals(Buffer.concat(expected))).toBe(true);
    server.close();
  });
});
