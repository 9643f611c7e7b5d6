// demo/src/service.ts - the demo HTTP service (a child process of npm start): three handlers that use memory like a real service.
//
// Usage (by the driver, with an IPC channel):
//   node [--expose-gc] service.js <memctx|baseline|trim> <data-file> <intervalMs> <backendMs> <firstChunkBytes> <trimIntervalMs> [<pieceBytes> <maxChunkBytes>]
// Routes, all bodies deterministic (demo/src/bodies.ts) so the client can check every byte:
//   GET  /render?seed=S&size=N  builds an N-byte body in 16 KiB request Buffers, written without copies
//   GET  /file?off=O&len=N      fs.readv of a data-file range straight into request Buffers, then sent
//   POST /ingest                buffers and parses a JSON body, answers with body(seed) of the size it asks
//   POST /upload?body=B&seed=S&reply=N[&deep=1]  buffers a large body, checks it is body(B) (every
//                               block's tag; every byte with deep=1), answers with body(S) of N bytes
// Large bodies (uploads, file ranges) are held in the Buffers mem.body() gives: one per body with
// plain Buffers, pieces of pieceBytes with memctx (demo/src/alloc.ts says why).
// Each request then waits on a simulated backend (a timer around backendMs) holding its Buffers.
// Every request's Buffers come from demo/src/alloc.ts: a memory context per request (memctx) or
// plain Buffers (baseline, trim). In trim mode a timer calls glibc's malloc_trim(0) every
// trimIntervalMs and reports each call's pause. Samples of this process go to the driver every
// intervalMs, with the request memory in flight.
import * as fs from 'node:fs';
import * as http from 'node:http';
import { startMonitor } from '../../dist/monitor';
import { createAllocator, DEFAULT_PIECE_BYTES, MODES, type Mode, type RequestMemory } from './alloc';
import { BLOCK_BYTES, fillBody, itemsChecksum, TAG_BYTES, type IngestPayload } from './bodies';
import type { FromService, ToService } from './protocol';
import { ServiceTime } from './servicetime';

const PIECE_BYTES = 16 * 1024;
const MAX_BODY_BYTES = 8 * 1024 * 1024;

function send(msg: FromService): void {
  if (process.connected) process.send?.(msg);
}

function fail(message: string): never {
  send({ type: 'fatal', message });
  process.stderr.write(`memctx service: ${message}\n`);
  process.exit(1);
}

const [modeArg, dataFile, intervalArg, backendArg, chunkArg, trimArg, pieceArg, maxChunkArg] = process.argv.slice(2);
if (!MODES.includes(modeArg as Mode)) fail(`mode must be one of ${MODES.join(', ')}, got ${String(modeArg)}`);
const mode = modeArg as Mode;
const intervalMs = Number(intervalArg ?? '100');
const backendMs = Number(backendArg ?? '0');
const firstChunkBytes = Number(chunkArg ?? '0');
const trimIntervalMs = Number(trimArg ?? '1000');
const pieceBytes = Number(pieceArg ?? String(DEFAULT_PIECE_BYTES));
if (!Number.isInteger(pieceBytes) || pieceBytes < 0 || pieceBytes % BLOCK_BYTES !== 0) fail(`pieceBytes must be 0 or a multiple of ${BLOCK_BYTES}, got ${String(pieceArg)}`);
let fd: number;
let fileSizeBytes: number;
try {
  fd = fs.openSync(dataFile, 'r');
  fileSizeBytes = fs.fstatSync(fd).size;
} catch (err) {
  fail(`cannot open data file ${String(dataFile)}: ${(err as Error).message}`);
}
const maxChunkBytes = Number(maxChunkArg ?? '0');
const allocator = createAllocator(mode, firstChunkBytes, pieceBytes, maxChunkBytes);
const serviceTime = new ServiceTime();

function parseQuery(url: string): { path: string; params: Map<string, string> } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const params = new Map<string, string>();
  if (q >= 0) {
    for (const pair of url.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      if (eq > 0) params.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  return { path, params };
}

function intParam(params: Map<string, string>, name: string, max: number): number | null {
  const raw = params.get(name);
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  const v = Number(raw);
  return v <= max ? v : null;
}

function plainError(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(message) });
  res.end(message);
}

/**
 * Simulated backend: the request waits (a timer) as if on its database, holding every Buffer it
 * has built, from 0.2x to 1.8x of backendMs (spread by `key`, so the wait is deterministic).
 * Memory held across waits is what makes in-flight memory grow with load in a real service.
 */
function afterBackend(res: http.ServerResponse, key: number, fn: () => void): void {
  const run = (): void => {
    // The client may have gone meanwhile; the request's memory is released then, so stop here.
    if (!res.destroyed) fn();
  };
  if (backendMs <= 0) {
    serviceTime.noteWait(res, 0);
    return run();
  }
  const u = (Math.imul(key >>> 0, 2654435761) >>> 0) / 4294967296;
  const waitMs = backendMs * (0.2 + 1.6 * u);
  serviceTime.noteWait(res, waitMs);
  setTimeout(run, waitMs);
}

/** Builds body(seed) of sizeBytes in request Buffers of up to 16 KiB, then sends them corked (one writev). */
function sendBody(mem: RequestMemory, res: http.ServerResponse, seed: number, sizeBytes: number, tag: string, extra: http.OutgoingHttpHeaders = {}): void {
  const pieces: Buffer[] = [];
  for (let off = 0; off < sizeBytes; off += PIECE_BYTES) {
    const piece = mem.allocUnsafe(Math.min(PIECE_BYTES, sizeBytes - off));
    fillBody(piece, seed, off);
    pieces.push(piece);
  }
  afterBackend(res, seed, () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': sizeBytes, 'x-req': tag, ...extra });
    res.cork();
    // Zero-copy: the socket keeps a reference until written; the memory lives until 'finish'/'close'.
    for (const piece of pieces) res.write(piece);
    res.uncork();
    res.end();
  });
}

function handleRender(mem: RequestMemory, res: http.ServerResponse, params: Map<string, string>): void {
  const seed = intParam(params, 'seed', 0xffffffff);
  const size = intParam(params, 'size', MAX_BODY_BYTES);
  if (seed === null || size === null) return plainError(res, 400, 'render needs seed and size (integers)\n');
  sendBody(mem, res, seed, size, `render:${seed}:${size}`);
}

/** The first n bytes of pieces (views; a short read ends early). */
function firstBytes(pieces: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const piece of pieces) {
    if (n <= 0) break;
    out.push(piece.length <= n ? piece : piece.subarray(0, n));
    n -= piece.length;
  }
  return out;
}

function handleFile(mem: RequestMemory, res: http.ServerResponse, params: Map<string, string>): void {
  const off = intParam(params, 'off', fileSizeBytes);
  const len = intParam(params, 'len', MAX_BODY_BYTES);
  if (off === null || len === null || off + len > fileSizeBytes) {
    return plainError(res, 416, `file range must lie within 0..${fileSizeBytes}\n`);
  }
  const pieces = mem.body(len);
  // The context stays alive until the read has landed, even if the client goes away meanwhile.
  const unpin = mem.pin();
  fs.readv(fd, pieces, off, (err, bytesRead) => {
    try {
      if (res.destroyed) return;
      if (err) return plainError(res, 500, `read failed: ${err.message}\n`);
      afterBackend(res, off, () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': bytesRead, 'x-req': `file:${off}:${len}` });
        res.cork();
        for (const piece of firstBytes(pieces, bytesRead)) res.write(piece);
        res.uncork();
        res.end();
      });
    } finally {
      unpin();
    }
  });
}

function handleIngest(mem: RequestMemory, req: http.IncomingMessage, res: http.ServerResponse): void {
  const declared = Number(req.headers['content-length']);
  if (!Number.isInteger(declared) || declared < 0 || declared > MAX_BODY_BYTES) {
    req.resume();
    return plainError(res, 411, 'ingest needs a content-length up to 8 MiB\n');
  }
  const body = mem.allocUnsafe(declared);
  let received = 0;
  let overflow = false;
  req.on('data', (chunk: Buffer) => {
    // After the response closed, the request's memory is gone: stop touching it.
    if (res.destroyed || overflow) return;
    if (received + chunk.length > declared) {
      overflow = true;
      return;
    }
    chunk.copy(body, received);
    received += chunk.length;
  });
  req.on('end', () => {
    if (res.destroyed) return;
    if (overflow || received !== declared) return plainError(res, 400, 'body length differs from content-length\n');
    let payload: IngestPayload;
    try {
      payload = JSON.parse(body.toString('latin1', 0, received)) as IngestPayload;
    } catch {
      return plainError(res, 400, 'body is not JSON\n');
    }
    const { seed, size, items, check } = payload;
    if (!Number.isInteger(seed) || !Number.isInteger(size) || size < 0 || size > MAX_BODY_BYTES || !Array.isArray(items)) {
      return plainError(res, 400, 'body needs integer seed, size and an items array\n');
    }
    const sum = itemsChecksum(items);
    if (sum !== check) return plainError(res, 422, `items sum ${sum} differs from check ${check}\n`);
    sendBody(mem, res, seed, size, `ingest:${seed}:${size}`, { 'x-sum': String(sum) });
  });
  req.on('error', () => res.destroy());
}

// One block of the expected upload, refilled per block: checking costs no allocation per request.
const expectBlock = Buffer.allocUnsafeSlow(BLOCK_BYTES);

/**
 * Offset of the first block of the body held in `pieces` that differs from body(seed), or -1: the
 * whole block with `deep`, else its tag (which names the seed and the block, so a misplaced or
 * foreign block fails). Every piece but the last is a whole number of blocks.
 */
function firstBadBlock(pieces: Buffer[], seed: number, deep: boolean): number {
  let base = 0;
  for (const piece of pieces) {
    for (let off = 0; off < piece.length; off += BLOCK_BYTES) {
      const n = Math.min(deep ? BLOCK_BYTES : TAG_BYTES, piece.length - off);
      fillBody(expectBlock.subarray(0, n), seed, base + off);
      if (piece.compare(expectBlock, 0, n, off, off + n) !== 0) return base + off;
    }
    base += piece.length;
  }
  return -1;
}

function handleUpload(mem: RequestMemory, req: http.IncomingMessage, res: http.ServerResponse, params: Map<string, string>): void {
  const bodySeed = intParam(params, 'body', 0xffffffff);
  const seed = intParam(params, 'seed', 0xffffffff);
  const reply = intParam(params, 'reply', MAX_BODY_BYTES);
  const declared = Number(req.headers['content-length']);
  if (bodySeed === null || seed === null || reply === null || !Number.isInteger(declared) || declared < 0 || declared > MAX_BODY_BYTES) {
    req.resume();
    return plainError(res, 400, 'upload needs body, seed, reply (integers) and a content-length up to 8 MiB\n');
  }
  // The whole body stays in request Buffers until the response has gone, as a service that
  // parses or forwards an upload after its backend answers holds it.
  const pieces = mem.body(declared);
  let received = 0;
  let index = 0;
  let at = 0;
  req.on('data', (chunk: Buffer) => {
    if (res.destroyed || received + chunk.length > declared) return;
    for (let from = 0; from < chunk.length; ) {
      const n = chunk.copy(pieces[index], at, from);
      if (n === 0) return; // a detached piece (the response closed meanwhile) takes nothing
      from += n;
      at += n;
      if (at === pieces[index].length) {
        index++;
        at = 0;
      }
    }
    received += chunk.length;
  });
  req.on('end', () => {
    if (res.destroyed) return;
    if (received !== declared) return plainError(res, 400, 'body length differs from content-length\n');
    const bad = firstBadBlock(pieces, bodySeed, params.get('deep') === '1');
    if (bad >= 0) return plainError(res, 422, `upload differs from body(${bodySeed}) in the block at ${bad}\n`);
    sendBody(mem, res, seed, reply, `upload:${seed}:${reply}`);
  });
  req.on('error', () => res.destroy());
}

const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  const { path, params } = parseQuery(req.url ?? '/');
  try {
    const mem = allocator.forResponse(res);
    if (req.method === 'GET' && path === '/render') return handleRender(mem, res, params);
    if (req.method === 'GET' && path === '/file') return handleFile(mem, res, params);
    if (req.method === 'POST' && path === '/ingest') return handleIngest(mem, req, res);
    if (req.method === 'POST' && path === '/upload') return handleUpload(mem, req, res, params);
    req.resume();
    plainError(res, 404, 'routes: GET /render, GET /file, POST /ingest, POST /upload\n');
  } catch (err) {
    req.resume();
    plainError(res, 500, `handler failed: ${(err as Error).message}\n`);
  }
});
server.on('clientError', (_err, socket) => socket.destroy());
serviceTime.track(server);

// Idle GC (both modes, when node runs with --expose-gc): once no request has been in flight for
// IDLE_GC_AFTER_MS, one full GC, so that what RSS shows afterwards is what the allocators keep
// (memctx's chunks; glibc's heap under plain Buffers), not garbage V8 had no reason to collect yet.
const IDLE_GC_AFTER_MS = 1000;
const runGc = (globalThis as { gc?: () => void }).gc;
if (typeof runGc === 'function') {
  let inFlight = 0;
  let lastActiveMs = Date.now();
  let collected = true;
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight++;
    collected = false;
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      inFlight--;
      lastActiveMs = Date.now();
    };
    res.once('finish', end);
    res.once('close', end);
  });
  setInterval(() => {
    if (!collected && inFlight === 0 && Date.now() - lastActiveMs >= IDLE_GC_AFTER_MS) {
      collected = true;
      runGc();
    }
  }, 100).unref();
}

const monitor = startMonitor({ intervalMs, label: mode, server, memctx: mode === 'memctx' });
monitor.on('sample', (sample) =>
  send({ type: 'sample', sample: { ...sample, requestBytes: allocator.bytesInFlight, requestBytesMax: allocator.takeMaxBytes() } }),
);

if (mode === 'trim') {
  // The addon is loaded here only for its measurement aid; this service allocates no context.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { native } = require('../../dist/native') as typeof import('../../dist/native');
  setInterval(() => {
    const r = native.mallocTrim();
    send({ type: 'trim', trim: { type: 'trim', label: mode, timeMs: Date.now(), durationMs: r.durationMs, released: r.released } });
  }, trimIntervalMs).unref();
}
// The server keeps the process alive; the monitor's timer is unref'd by design.

process.on('message', (msg: ToService) => {
  if (msg.type === 'phase') {
    monitor.mark(msg.name);
    serviceTime.mark(msg.name);
  } else if (msg.type === 'stats') {
    monitor.mark('end');
    serviceTime.mark(null);
    send({ type: 'stats', phases: monitor.phaseStats(), serviceTime: serviceTime.phases() });
  } else if (msg.type === 'exit') {
    monitor.stop();
    server.close();
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 50).unref();
  }
});
// Never outlive the driver.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') fail('server has no TCP address');
  send({ type: 'listening', port: addr.port, pid: process.pid, mode, glibcTunables: process.env.GLIBC_TUNABLES ?? null });
});
server.on('error', (err) => fail(`server error: ${err.message}`));
