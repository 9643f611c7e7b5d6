// test/reliability/loopback.test.ts - owns the async I/O safety tests: thousands of zero-copy HTTP
// responses over loopback, each from its own per-request context released by the facade's helper
// (contextForResponse: deleted on 'finish'/'close'), with the client checking every byte of every
// response while the memory of finished requests is being reused by the next ones; and the
// documented failure: a context released by hand while a write is still queued on the socket
// sends bytes that are not the response (another context's data, or a cut connection) in detach
// mode, while reserve mode keeps the memory until the queued Buffer is collected.
// MEMCTX_REL_REQUESTS sets the number of requests (default 2000).
import * as http from 'node:http';
import * as net from 'node:net';
import { MemoryContext, configure, contextForResponse, getConfiguration, memoryStats, type ReleaseMode } from '../../lib';
import { fillPattern, fillPatternFrom, firstBadByte } from './support/pattern';

const REQUESTS = Number(process.env.MEMCTX_REL_REQUESTS) > 0 ? Number(process.env.MEMCTX_REL_REQUESTS) : 2000;
const CONCURRENCY = 32;

/** Response size of request id: mostly small and medium, every 50th large (a dedicated mapping,
 * bigger than the socket buffer, so its write stays queued for a while). */
function sizeOf(id: number): number {
  if (id % 50 === 49) return (1 << 20) + ((id * 7919) % (1 << 20));
  if (id % 5 === 4) return 16384 + ((id * 104729) % 200_000);
  return (id * 2654435761) % 9000;
}

const saved = getConfiguration();
beforeAll(() => {
  // release fast, so finished requests' memory is handed back and reused during the test
  configure({ decayMs: 0, retainBytes: 16 << 20 });
});
afterAll(() => {
  configure({ decayMs: saved.decayMs, retainBytes: saved.retainBytes });
});

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

test(`${REQUESTS} zero-copy responses from per-request contexts, every byte checked by the client`, async () => {
  const before = memoryStats().contextCount;
  let served = 0;
  const server = http.createServer((req, res) => {
    const id = Number(req.url!.slice(1));
    const ctx = contextForResponse(res, { name: `req-${id}` });
    const n = sizeOf(id);
    // two pieces from the same context: a queued write and the final one
    const cut = Math.floor(n / 3);
    const head = ctx.allocUnsafe(cut);
    const tail = ctx.allocUnsafe(n - cut);
    fillPattern(head, id);
    fillPatternFrom(tail, id, cut);
    res.setHeader('content-length', n);
    res.write(head);
    res.end(tail);
    served++;
  });
  // keep-alive sockets stay open for the whole run (no idle-timeout race with the client's reuse)
  server.keepAliveTimeout = 120_000;
  const port = await listen(server);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  let checkedBytes = 0;
  const failures: string[] = [];
  const one = (id: number): Promise<void> => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/${id}`, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        const bad = body.length === sizeOf(id) ? firstBadByte(body, id) : -2;
        if (bad !== -1) failures.push(`request ${id}: ${bad === -2 ? `length ${body.length}, expected ${sizeOf(id)}` : `byte ${bad} wrong`}`);
        checkedBytes += body.length;
        resolve();
      });
      res.on('error', reject);
    }).on('error', reject);
  });
  const lanes = Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUESTS) await one(next++);
  });
  await Promise.all(lanes);
  agent.destroy();
  await new Promise((r) => server.close(r));
  // every per-request context was deleted by the helper
  await new Promise((r) => setTimeout(r, 50));
  expect(failures.slice(0, 5)).toEqual([]);
  expect(served).toBe(REQUESTS);
  // at most: trees parked by earlier test files in this worker may drain meanwhile
  expect(memoryStats().contextCount).toBeLessThanOrEqual(before);
  console.log(`loopback: ${REQUESTS} responses, ${(checkedBytes / 1048576).toFixed(1)} MiB checked byte by byte, 0 wrong`);
}, 300_000);

/** Serve one SIZE-byte response on a raw socket to a client that is not reading yet, release the
 * context by hand right after write() (the write is still queued), let another context take the
 * memory, then let the client read. Returns what the client received. */
async function releaseWhilePending(mode: ReleaseMode, size: number, inChunk = false): Promise<{ got: Buffer; queued: boolean; clientError: string }> {
  let queued = false;
  // inChunk: the context's Buffer comes from its first process chunk (reused at once after
  // delete), handed to libuv in one corked write behind a plain Buffer that fills the socket,
  // rather than from a mapping of its own (held until its ArrayBuffer is collected).
  const piece = inChunk ? 256 << 10 : size;
  const chunky = inChunk ? { initialSize: 2 * piece } : {};
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    const ctx = new MemoryContext({ name: 'pending-write', releaseMode: mode, ...chunky });
    const buf = ctx.allocUnsafe(piece);
    if (inChunk) {
      const head = Buffer.allocUnsafe(size - piece);
      fillPattern(head, 77);
      fillPatternFrom(buf, 77, size - piece);
      sock.cork();
      sock.write(head);
    } else {
      fillPattern(buf, 77);
    }
    queued = !sock.write(buf);
    if (inChunk) sock.uncork();
    ctx.delete(); // the mistake: the write is still queued in libuv
    const other = new MemoryContext({ name: 'next-request', ...chunky });
    for (let i = 0; i < 4; i++) other.allocUnsafe(piece).fill(0xee);
    sock.end(() => other.delete());
  });
  const port = await listen(server);
  const parts: Buffer[] = [];
  let clientError = '';
  await new Promise<void>((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.pause();
    c.on('error', (e) => {
      clientError = e.message;
      resolve();
    });
    c.on('end', () => resolve());
    setTimeout(() => {
      c.on('data', (d: Buffer) => parts.push(d));
      c.resume();
    }, 200);
  });
  await new Promise((r) => server.close(r));
  return { got: Buffer.concat(parts), queued, clientError };
}

test('the documented failure: deleting a context while its write is queued (detach mode) sends other bytes', async () => {
  const size = 8 << 20;
  const r = await releaseWhilePending('detach', size, true);
  expect(r.queued).toBe(true); // the write really was pending when the context was deleted
  const intact = r.got.length === size && firstBadByte(r.got, 77) === -1;
  const foreign = r.got.reduce((n, v) => n + (v === 0xee ? 1 : 0), 0);
  console.log(`release while pending (detach): received ${r.got.length} of ${size} bytes, first wrong byte ` +
    `${firstBadByte(r.got, 77)}, ${foreign} bytes of the next request's data${r.clientError ? `, client error ${r.clientError}` : ''}`);
  expect(intact).toBe(false);
}, 60_000);

test('detach mode keeps a large allocation\'s own mapping until its Buffer is collected: its bytes or zeros, never another request\'s', async () => {
  const size = 8 << 20;
  const r = await releaseWhilePending('detach', size);
  expect(r.queued).toBe(true);
  expect(r.clientError).toBe('');
  expect(r.got.length).toBe(size);
  // The mapping is not reused while the queued Buffer lives; its pages may be given back
  // (MADV_DONTNEED), so what the socket still reads is the original bytes or zeros.
  const want = Buffer.alloc(size);
  fillPattern(want, 77);
  let other = 0;
  for (let i = 0; i < size; i++) if (r.got[i] !== want[i] && r.got[i] !== 0) other++;
  expect(other).toBe(0);
}, 60_000);

test('reserve mode keeps a queued write\'s memory until its Buffer is collected: the client gets every byte', async () => {
  const size = 8 << 20;
  const r = await releaseWhilePending('reserve', size);
  expect(r.queued).toBe(true);
  expect(r.clientError).toBe('');
  expect(r.got.length).toBe(size);
  expect(firstBadByte(r.got, 77)).toBe(-1);
}, 60_000);
