#!/usr/bin/env node
// bench/js/facade-bench.js - the facade benchmark of issue 3: memctx against Buffer in one
// process, interleaved rounds, ratios with median and min-max. Run: npm run bench:js
// (node --expose-gc bench/js/facade-bench.js [--rounds N] [--quick] [--out FILE]).
// Child-process parts (detach slowdown, reserve-mode balloon) use fresh processes per sample.
'use strict';
const { performance, PerformanceObserver } = require('node:perf_hooks');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..', '..');
const memctx = require(path.join(root, 'dist'));
const { MemoryContext } = memctx;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const roundsArg = args.indexOf('--rounds');
const ROUNDS = roundsArg >= 0 ? Number(args[roundsArg + 1]) : quick ? 5 : 15;
const outArg = args.indexOf('--out');
const OUT = outArg >= 0 ? args[outArg + 1] : null;
const onlyArg = args.indexOf('--only');
// --against DIR: also time the per-request cases against another build of memctx (DIR/dist and
// DIR/build/Release/memctx.node, e.g. a copy of the tree before a change), interleaved, same process.
const againstArg = args.indexOf('--against');
const AGAINST = againstArg >= 0 ? require(path.join(path.resolve(args[againstArg + 1]), 'dist')) : null;
const ONLY = onlyArg >= 0 ? new RegExp(args[onlyArg + 1]) : null;

// ---- GC accounting -----------------------------------------------------------------------
const gcEntries = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcEntries.push({ start: e.startTime, ms: e.duration, kind: e.detail ? e.detail.kind : e.kind });
}).observe({ entryTypes: ['gc'] });
const tick = () => new Promise((r) => setImmediate(r));
function gcBetween(t0, t1) {
  let ms = 0;
  let n = 0;
  for (const e of gcEntries) if (e.start >= t0 && e.start <= t1) {
    ms += e.ms;
    n++;
  }
  return { ms, n };
}

// ---- workloads ---------------------------------------------------------------------------
const sink = new Array(1024);
const SIZES16 = [];
{
  let x = 12345;
  for (let i = 0; i < 16; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    SIZES16.push(64 + (x % 961)); // 64..1024 B
  }
}

// Each workload runs `n` operations; region workloads reset every `resetEvery` allocations so the
// reset cost is inside the figure.
function memAllocUnsafe(ctx, size, n, resetEvery) {
  for (let i = 0; i < n; i++) {
    sink[i & 1023] = ctx.allocUnsafe(size);
    if (i % resetEvery === resetEvery - 1) ctx.reset();
  }
}
function memAlloc(ctx, size, n, resetEvery) {
  for (let i = 0; i < n; i++) {
    sink[i & 1023] = ctx.alloc(size);
    if (i % resetEvery === resetEvery - 1) ctx.reset();
  }
}
function bufAllocUnsafe(size, n) {
  for (let i = 0; i < n; i++) sink[i & 1023] = Buffer.allocUnsafe(size);
}
function bufAlloc(size, n) {
  for (let i = 0; i < n; i++) sink[i & 1023] = Buffer.alloc(size);
}
async function lifecycleMem(mode, n) {
  const opts = { name: 'request', releaseMode: mode };
  for (let i = 0; i < n; i++) {
    const ctx = new MemoryContext(opts);
    for (let j = 0; j < 16; j++) sink[j] = ctx.allocUnsafe(SIZES16[j]);
    ctx.delete();
    if ((i & 511) === 511) await tick(); // let the event loop turn, as between requests
  }
}
// The demo's per-request path: a context tied to a response by contextForResponse, 16 allocations,
// then the response's 'finish' and 'close' (emitted by hand on a ServerResponse that has no socket).
const http = require('node:http');
const net = require('node:net');
const newResponse = () => new http.ServerResponse(new http.IncomingMessage(new net.Socket()));
async function responseMem(lib, n) {
  const opts = { name: 'request' };
  for (let i = 0; i < n; i++) {
    const res = newResponse();
    const ctx = lib.contextForResponse(res, opts);
    for (let j = 0; j < 16; j++) sink[j] = ctx.allocUnsafe(SIZES16[j]);
    res.emit('finish');
    res.emit('close');
    if ((i & 511) === 511) await tick();
  }
}
async function responseBuf(n) {
  for (let i = 0; i < n; i++) {
    const res = newResponse();
    res.once('finish', () => {});
    for (let j = 0; j < 16; j++) sink[j] = Buffer.allocUnsafe(SIZES16[j]);
    res.emit('finish');
    res.emit('close');
    if ((i & 511) === 511) await tick();
  }
}
// Contexts that outlive their turn (as in a service whose requests wait on I/O): 64 in flight,
// each deleted 64 creations later, so every one is registered with the backstop.
async function inFlightMem(lib, n) {
  const opts = { name: 'request' };
  const ring = new Array(64).fill(null);
  for (let i = 0; i < n; i++) {
    const k = i & 63;
    if (ring[k] !== null) ring[k].delete();
    const ctx = (ring[k] = new lib.MemoryContext(opts));
    for (let j = 0; j < 16; j++) sink[j] = ctx.allocUnsafe(SIZES16[j]);
    if ((i & 15) === 15) await tick();
  }
  for (const c of ring) if (c !== null) c.delete();
}
async function inFlightBuf(n) {
  const ring = new Array(64).fill(null);
  for (let i = 0; i < n; i++) {
    const bufs = [];
    for (let j = 0; j < 16; j++) bufs.push(Buffer.allocUnsafe(SIZES16[j]));
    ring[i & 63] = bufs;
    if ((i & 15) === 15) await tick();
  }
}
async function lifecycleMemWith(lib, n) {
  const opts = { name: 'request' };
  for (let i = 0; i < n; i++) {
    const ctx = new lib.MemoryContext(opts);
    for (let j = 0; j < 16; j++) sink[j] = ctx.allocUnsafe(SIZES16[j]);
    ctx.delete();
    if ((i & 511) === 511) await tick();
  }
}
async function lifecycleBuf(n) {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 16; j++) sink[j] = Buffer.allocUnsafe(SIZES16[j]);
    if ((i & 511) === 511) await tick();
  }
}

// View construction: the subclass chained to Buffer.prototype vs Buffer.from(ab, off, len).
class ViewBuffer extends Uint8Array {}
Object.setPrototypeOf(ViewBuffer.prototype, Buffer.prototype);
const viewAb = new ArrayBuffer(1 << 20);
function viewSubclass(n) {
  for (let i = 0; i < n; i++) sink[i & 1023] = new ViewBuffer(viewAb, (i & 4095) << 6, 64);
}
function viewBufferFrom(n) {
  for (let i = 0; i < n; i++) sink[i & 1023] = Buffer.from(viewAb, (i & 4095) << 6, 64);
}

// ---- measurement -------------------------------------------------------------------------
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeIt(fn) {
  await tick();
  const t0 = performance.now();
  await fn();
  const t1 = performance.now();
  // gc entries reach the observer only after a timer phase: wait one (outside the timed block)
  await new Promise((r) => setTimeout(r, 15));
  return { ms: t1 - t0, gc: gcBetween(t0, t1) };
}

/** Interleaved pairs: each round runs A and B (alternating which goes first). */
async function pair(name, a, b, n, note) {
  if (ONLY && !ONLY.test(name)) return { name, skipped: true };
  const ratios = [];
  const aNs = [];
  const bNs = [];
  const gcA = [];
  const gcB = [];
  for (let w = 0; w < 2; w++) {
    await a(n / 4);
    await b(n / 4);
  }
  for (let r = 0; r < ROUNDS; r++) {
    const first = r % 2 === 0;
    const ra = first ? await timeIt(() => a(n)) : null;
    const rb = await timeIt(() => b(n));
    const ra2 = first ? ra : await timeIt(() => a(n));
    ratios.push(rb.ms / ra2.ms);
    aNs.push((ra2.ms * 1e6) / n);
    bNs.push((rb.ms * 1e6) / n);
    gcA.push(ra2.gc.ms / ra2.ms);
    gcB.push(rb.gc.ms / rb.ms);
  }
  const res = {
    name,
    note,
    n,
    memctxNs: median(aNs),
    bufferNs: median(bNs),
    speedup: median(ratios),
    speedupMin: Math.min(...ratios),
    speedupMax: Math.max(...ratios),
    gcShareMemctx: median(gcA),
    gcShareBuffer: median(gcB),
  };
  console.error(`${name}: memctx ${res.memctxNs.toFixed(1)} ns, Buffer ${res.bufferNs.toFixed(1)} ns, ` +
    `speedup ${res.speedup.toFixed(2)}x (${res.speedupMin.toFixed(2)}-${res.speedupMax.toFixed(2)}), ` +
    `gc share ${(res.gcShareMemctx * 100).toFixed(1)}% / ${(res.gcShareBuffer * 100).toFixed(1)}%`);
  return res;
}

// ---- child-process measurements ------------------------------------------------------------
const CHILD = `
const path = require('node:path');
const root = ${JSON.stringify(root)};
const which = process.argv[1];
if (which === 'readloop') {
  // A tight typed-array read loop; "detach" first detaches one memctx ArrayBuffer (a reset).
  const detach = process.argv[2] === '1';
  if (detach) { const m = require(path.join(root, 'dist')); const c = new m.MemoryContext(); c.allocUnsafe(8); c.reset(); c.delete(); }
  else { require(path.join(root, 'dist')); }
  const a = new Uint8Array(1 << 16); for (let i = 0; i < a.length; i++) a[i] = i;
  function sum(u) { let s = 0; for (let i = 0; i < u.length; i++) s += u[i]; return s; }
  for (let i = 0; i < 200; i++) sum(a);
  const t0 = process.hrtime.bigint(); let s = 0;
  for (let i = 0; i < 3000; i++) s += sum(a);
  const ns = Number(process.hrtime.bigint() - t0) / (3000 * a.length);
  console.log(JSON.stringify({ ns, s }));
} else if (which === 'balloon') {
  // N request lifecycles in one synchronous loop: peak RSS by release mode.
  const m = require(path.join(root, 'dist'));
  const mode = process.argv[2]; const n = Number(process.argv[3]);
  const fs = require('node:fs');
  const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'latin1'))[1]) * 1024;
  const base = rss(); let peak = base; const sink = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const c = new m.MemoryContext({ releaseMode: mode });
    for (let j = 0; j < 16; j++) sink[j] = c.allocUnsafe(64 + ((i * 7 + j * 61) % 961));
    c.delete();
    if ((i & 1023) === 0) peak = Math.max(peak, rss());
  }
  const ns = Number(process.hrtime.bigint() - t0) / n;
  peak = Math.max(peak, rss());
  setTimeout(() => console.log(JSON.stringify({ ns, base, peak, after: rss(), q: m.memoryStats().quarantinedContexts })), 1500);
}
`;

function child(argv) {
  const r = spawnSync(process.execPath, ['-e', CHILD, ...argv], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child ${argv.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function detachSlowdown(samples) {
  const ratios = [];
  const noDetach = [];
  const withDetach = [];
  for (let i = 0; i < samples; i++) {
    const first = i % 2 === 0;
    const x = first ? child(['readloop', '0']) : null;
    const y = child(['readloop', '1']);
    const x2 = first ? x : child(['readloop', '0']);
    noDetach.push(x2.ns);
    withDetach.push(y.ns);
    ratios.push(y.ns / x2.ns);
  }
  const res = { name: 'typed-array read loop after the first detach in the process', slowdown: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), nsNoDetach: median(noDetach), nsAfterDetach: median(withDetach) };
  console.error(`${res.name}: ${res.slowdown.toFixed(2)}x (${res.min.toFixed(2)}-${res.max.toFixed(2)})`);
  return res;
}

function balloon(n) {
  const out = {};
  for (const mode of ['detach', 'reserve']) {
    const r = child(['balloon', mode, String(n)]);
    out[mode] = { nsPerLifecycle: r.ns, peakRssMiB: (r.peak - r.base) / 1048576, afterMiB: (r.after - r.base) / 1048576, quarantinedAfter: r.q };
    console.error(`balloon ${mode}: ${r.ns.toFixed(0)} ns/lifecycle, peak +${out[mode].peakRssMiB.toFixed(1)} MiB, after 1.5 s +${out[mode].afterMiB.toFixed(1)} MiB`);
  }
  return out;
}

// ---- main ----------------------------------------------------------------------------------
async function main() {
  const started = new Date().toISOString();
  const results = [];
  const ctx = new MemoryContext({ name: 'bench' });
  results.push(await pair('allocUnsafe(64)', (n) => memAllocUnsafe(ctx, 64, n, 4096), (n) => bufAllocUnsafe(64, n), quick ? 2e5 : 1e6,
    'reset every 4096 allocations, reset cost included'));
  results.push(await pair('allocUnsafe(4096)', (n) => memAllocUnsafe(ctx, 4096, n, 256), (n) => bufAllocUnsafe(4096, n), quick ? 2e4 : 1e5,
    'reset every 256 allocations (1 MiB), reset cost included'));
  results.push(await pair('alloc(4096) zero-filled', (n) => memAlloc(ctx, 4096, n, 256), (n) => bufAlloc(4096, n), quick ? 2e4 : 1e5,
    'reset every 256 allocations'));
  ctx.delete();
  const lifeN = quick ? 5000 : 20000;
  results.push(await pair('request lifecycle, detach mode', (n) => lifecycleMem('detach', n), (n) => lifecycleBuf(n), lifeN,
    'new context, 16 allocUnsafe of 64-1024 B, delete; vs the same 16 Buffer.allocUnsafe; event loop turns every 512'));
  results.push(await pair('request lifecycle, reserve mode', (n) => lifecycleMem('reserve', n), (n) => lifecycleBuf(n), lifeN,
    'as above, release mode reserve (no detach; memory parked until the ArrayBuffers are collected)'));
  results.push(await pair('response lifecycle (contextForResponse)', (n) => responseMem(memctx, n), (n) => responseBuf(n), lifeN,
    'contextForResponse on a ServerResponse without a socket, 16 allocUnsafe of 64-1024 B, finish + close; vs the same with Buffer.allocUnsafe'));
  results.push(await pair('in-flight lifecycle (64 live, event loop turns every 16)', (n) => inFlightMem(memctx, n), (n) => inFlightBuf(n), lifeN,
    'contexts live across turns (registered with the backstop), deleted 64 creations later; vs 16 Buffers kept as long'));
  if (AGAINST !== null) {
    const other = args[againstArg + 1];
    results.push(await pair(`lifecycle detach: this build vs ${other}`, (n) => lifecycleMemWith(memctx, n), (n) => lifecycleMemWith(AGAINST, n), lifeN,
      'speedup of this build over the other on the detach lifecycle'));
    results.push(await pair(`response lifecycle: this build vs ${other}`, (n) => responseMem(memctx, n), (n) => responseMem(AGAINST, n), lifeN,
      'speedup of this build over the other on the response lifecycle'));
    results.push(await pair(`in-flight lifecycle: this build vs ${other}`, (n) => inFlightMem(memctx, n), (n) => inFlightMem(AGAINST, n), lifeN,
      'speedup of this build over the other on the in-flight lifecycle'));
  }
  memctx.testing.useNodeApiArrayBuffers(true);
  results.push(await pair('request lifecycle, detach mode, Node-API ArrayBuffers', (n) => lifecycleMem('detach', n), (n) => lifecycleBuf(n), lifeN,
    'as the detach row, chunk ArrayBuffers made with napi_create_external_arraybuffer instead of the V8 fast path'));
  memctx.testing.useNodeApiArrayBuffers(false);
  results.push(await pair('view: subclass vs Buffer.from', (n) => viewSubclass(n), (n) => viewBufferFrom(n), quick ? 2e5 : 1e6,
    'speedup of new ViewBuffer(ab, off, 64) over Buffer.from(ab, off, 64)'));
  const slow = ONLY && !ONLY.test('detach slowdown') ? null : detachSlowdown(quick ? 3 : 7);
  const bal = ONLY && !ONLY.test('balloon') ? null : balloon(quick ? 20000 : 100000);
  const report = { started, node: process.version, rounds: ROUNDS, command: `node --expose-gc bench/js/facade-bench.js ${args.join(' ')}`.trim(), results, detachSlowdown: slow, balloon: bal };
  const json = JSON.stringify(report, null, 2);
  if (OUT) fs.writeFileSync(OUT, json + '\n');
  console.log(json);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
