#!/usr/bin/env node
// bench/js/peers-bench.js - the JS workloads of issue 6: memctx beside Buffer, Uint8Array and
// @thi.ng/malloc (allocation by size, request lifecycle, churn with GC and RSS per process).
// Run: npm run bench:js-peers (node --expose-gc bench/js/peers-bench.js [--quick] [--rounds N]
// [--out FILE]). Interleaved rounds; medians, min-max and ratios paired within a round.
'use strict';
const { performance, PerformanceObserver } = require('node:perf_hooks');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..', '..');
const { MemoryContext } = require(path.join(root, 'dist'));
const THING = path.join(root, 'node_modules', '@thi.ng', 'malloc', 'index.js');
const THING_VERSION = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '@thi.ng', 'malloc', 'package.json'), 'utf8')).version;

const args = process.argv.slice(2);
const argValue = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const quick = args.includes('--quick');
const ROUNDS = Number(argValue('--rounds', quick ? 5 : 15));
const OUT = argValue('--out', path.join(root, 'bench', 'js', 'peers-results.json'));
const CHURN_ROUNDS = quick ? 1 : 3;
const CHURN_SCOPES = quick ? 4000 : 20000;

const sink = new Array(1024);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const tick = () => new Promise((r) => setImmediate(r));

// The same 16 request sizes as facade-bench.js (64..1024 B, fixed LCG seed).
const SIZES16 = [];
{
  let x = 12345;
  for (let i = 0; i < 16; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    SIZES16.push(64 + (x % 961));
  }
}

// ---- 1. allocation by size ----------------------------------------------------------------------
// Every candidate frees its "scope" every `scopeEvery` allocations (about 1 MiB or 256 KiB of data)
// so that memory stays bounded and the free is inside the figure: memctx reset(), @thi.ng freeAll(),
// Buffer and Uint8Array by dropping references (the ring of 1024 in `sink`; GC does the rest).
function allocCandidates(ctx, pool, size, scopeEvery) {
  return {
    'ctx.allocUnsafe': (n) => {
      for (let i = 0; i < n; i++) {
        sink[i & 1023] = ctx.allocUnsafe(size);
        if (i % scopeEvery === scopeEvery - 1) ctx.reset();
      }
    },
    'ctx.alloc': (n) => {
      for (let i = 0; i < n; i++) {
        sink[i & 1023] = ctx.alloc(size);
        if (i % scopeEvery === scopeEvery - 1) ctx.reset();
      }
    },
    'Buffer.allocUnsafe': (n) => {
      for (let i = 0; i < n; i++) sink[i & 1023] = Buffer.allocUnsafe(size);
    },
    'Buffer.alloc': (n) => {
      for (let i = 0; i < n; i++) sink[i & 1023] = Buffer.alloc(size);
    },
    'Buffer.allocUnsafeSlow': (n) => {
      for (let i = 0; i < n; i++) sink[i & 1023] = Buffer.allocUnsafeSlow(size);
    },
    'new Uint8Array': (n) => {
      for (let i = 0; i < n; i++) sink[i & 1023] = new Uint8Array(size);
    },
    '@thi.ng/malloc mallocAs': (n) => {
      for (let i = 0; i < n; i++) {
        const a = pool.mallocAs('u8', size);
        if (a === undefined) throw new Error(`@thi.ng/malloc: mallocAs('u8', ${size}) returned undefined (pool full)`);
        sink[i & 1023] = a;
        if (i % scopeEvery === scopeEvery - 1) pool.freeAll();
      }
    },
  };
}

/**
 * Interleaved rounds over every candidate (the order rotates each round); ns per op and the ratio
 * of each candidate's time to the reference's time in the same round.
 */
async function interleave(title, cands, ref, n, note) {
  const names = Object.keys(cands);
  for (let w = 0; w < 2; w++) for (const k of names) await cands[k](Math.max(1, n >> 2));
  const ns = Object.fromEntries(names.map((k) => [k, []]));
  const ratio = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    const ms = {};
    for (const k of order) {
      await tick();
      const t0 = performance.now();
      await cands[k](n);
      ms[k] = performance.now() - t0;
    }
    for (const k of names) {
      ns[k].push((ms[k] * 1e6) / n);
      ratio[k].push(ms[k] / ms[ref]);
    }
  }
  const rows = names.map((k) => ({
    name: k,
    nsPerOp: median(ns[k]),
    nsMin: Math.min(...ns[k]),
    nsMax: Math.max(...ns[k]),
    timeVsRef: median(ratio[k]),
    timeVsRefMin: Math.min(...ratio[k]),
    timeVsRefMax: Math.max(...ratio[k]),
  }));
  console.error(`${title}:`);
  for (const x of rows) console.error(`  ${x.name.padEnd(26)} ${x.nsPerOp.toFixed(1).padStart(9)} ns (${x.nsMin.toFixed(1)}-${x.nsMax.toFixed(1)})  time x ${ref} ${x.timeVsRef.toFixed(2)} (${x.timeVsRefMin.toFixed(2)}-${x.timeVsRefMax.toFixed(2)})`);
  return { title, note, n, reference: ref, rows };
}

// ---- 2. request lifecycle -----------------------------------------------------------------------
function lifecycleCandidates(pool) {
  const opts = { name: 'request' };
  return {
    'memctx (new context, allocUnsafe, delete)': async (n) => {
      for (let i = 0; i < n; i++) {
        const ctx = new MemoryContext(opts);
        for (let j = 0; j < 16; j++) sink[j] = ctx.allocUnsafe(SIZES16[j]);
        ctx.delete();
        if ((i & 511) === 511) await tick();
      }
    },
    'Buffer.allocUnsafe (drop references)': async (n) => {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 16; j++) sink[j] = Buffer.allocUnsafe(SIZES16[j]);
        if ((i & 511) === 511) await tick();
      }
    },
    '@thi.ng/malloc (mallocAs, freeAll)': async (n) => {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 16; j++) sink[j] = pool.mallocAs('u8', SIZES16[j]);
        pool.freeAll();
        if ((i & 511) === 511) await tick();
      }
    },
    '@thi.ng/malloc (mallocAs, free each)': async (n) => {
      const live = new Array(16);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 16; j++) sink[j] = live[j] = pool.mallocAs('u8', SIZES16[j]);
        for (let j = 0; j < 16; j++) pool.free(live[j]);
        if ((i & 511) === 511) await tick();
      }
    },
  };
}

// ---- 3. churn, one child process per allocator and round ------------------------------------------
// A rolling window of WINDOW live scopes; each scope holds PER_SCOPE Buffers of 64 B..64 KiB
// (log-uniform, fixed seed, one byte written to each); the oldest scope is freed when a new one opens.
// The event loop turns every 64 scopes, as between requests.
const CHURN_CHILD = `
'use strict';
const fs = require('node:fs');
const { performance, PerformanceObserver } = require('node:perf_hooks');
const [which, scopesArg] = process.argv.slice(1);
const SCOPES = Number(scopesArg), WINDOW = 32, PER_SCOPE = 32;
const status = () => fs.readFileSync('/proc/self/status', 'latin1');
const kib = (s, key) => Number(new RegExp(key + ':\\\\s+(\\\\d+)').exec(s)[1]) * 1024;
const gcs = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push(e.duration); }).observe({ entryTypes: ['gc'] });
const sizes = new Uint32Array(1 << 16);
{ let x = 987654321; for (let i = 0; i < sizes.length; i++) { x = (x * 1103515245 + 12345) & 0x7fffffff; sizes[i] = Math.round(64 * Math.pow(1024, (x % 100000) / 99999)); } }
async function main() {
  let mk, free;
  if (which === 'memctx') {
    const { MemoryContext } = require(${JSON.stringify(path.join(root, 'dist'))});
    const opts = { name: 'churn' };
    mk = (k) => { const c = new MemoryContext(opts); for (let j = 0; j < PER_SCOPE; j++) c.allocUnsafe(sizes[(k * PER_SCOPE + j) & 65535])[0] = j; return c; };
    free = (c) => c.delete();
  } else if (which === 'Buffer.allocUnsafe') {
    mk = (k) => { const a = new Array(PER_SCOPE); for (let j = 0; j < PER_SCOPE; j++) (a[j] = Buffer.allocUnsafe(sizes[(k * PER_SCOPE + j) & 65535]))[0] = j; return a; };
    free = () => {};
  } else if (which === '@thi.ng/malloc') {
    const { MemPool } = await import(${JSON.stringify(THING)});
    // one pool for the whole window (live data is ~10 MiB; 64 MiB leaves room for fragmentation);
    // a scope frees each of its blocks, the pool coalesces free neighbours (compact: true)
    const pool = new MemPool({ size: 64 << 20 });
    mk = (k) => { const a = new Array(PER_SCOPE); for (let j = 0; j < PER_SCOPE; j++) { const b = pool.mallocAs('u8', sizes[(k * PER_SCOPE + j) & 65535]); if (b === undefined) throw new Error('@thi.ng/malloc pool full at scope ' + k); (a[j] = b)[0] = j; } return a; };
    free = (a) => { for (const b of a) pool.free(b); };
  } else throw new Error('unknown allocator ' + which);
  global.gc();
  await new Promise((r) => setTimeout(r, 20));
  gcs.length = 0;
  const rssStart = kib(status(), 'VmRSS');
  let rssPeak = rssStart;
  const ring = new Array(WINDOW).fill(null);
  const t0 = performance.now();
  for (let k = 0; k < SCOPES; k++) {
    const slot = k % WINDOW;
    if (ring[slot] !== null) free(ring[slot]);
    ring[slot] = mk(k);
    if ((k & 63) === 63) { rssPeak = Math.max(rssPeak, kib(status(), 'VmRSS')); await new Promise((r) => setImmediate(r)); }
  }
  for (const s of ring) if (s !== null) free(s);
  const ms = performance.now() - t0;
  const st = status();
  const rssEnd = kib(st, 'VmRSS');
  rssPeak = Math.max(rssPeak, rssEnd);
  await new Promise((r) => setTimeout(r, 50)); // gc entries arrive after a timer phase
  console.log(JSON.stringify({ ms, allocations: SCOPES * PER_SCOPE, gcCount: gcs.length, gcPauseMs: gcs.reduce((a, b) => a + b, 0), rssStartBytes: rssStart, rssPeakBytes: rssPeak, rssEndBytes: rssEnd, hwmBytes: kib(st, 'VmHWM') }));
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

function churnChild(which) {
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', CHURN_CHILD, which, String(CHURN_SCOPES)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`churn child ${which} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function churn() {
  const names = ['memctx', 'Buffer.allocUnsafe', '@thi.ng/malloc'];
  const runs = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < CHURN_ROUNDS; r++) {
    for (let i = 0; i < names.length; i++) {
      const k = names[(i + r) % names.length];
      runs[k].push(churnChild(k));
    }
  }
  const pick = (xs, f) => xs.map(f);
  const rows = names.map((k) => {
    const xs = runs[k];
    const ms = pick(xs, (x) => x.ms);
    return {
      name: k,
      allocations: xs[0].allocations,
      ms: median(ms),
      msMin: Math.min(...ms),
      msMax: Math.max(...ms),
      gcCount: median(pick(xs, (x) => x.gcCount)),
      gcPauseMs: median(pick(xs, (x) => x.gcPauseMs)),
      rssStartBytes: median(pick(xs, (x) => x.rssStartBytes)),
      rssPeakBytes: median(pick(xs, (x) => x.rssPeakBytes)),
      rssEndBytes: median(pick(xs, (x) => x.rssEndBytes)),
      hwmBytes: median(pick(xs, (x) => x.hwmBytes)),
      runs: xs,
    };
  });
  const ref = rows.find((x) => x.name === 'Buffer.allocUnsafe');
  console.error(`churn (${CHURN_SCOPES} scopes x 32 allocations, window 32, ${CHURN_ROUNDS} round(s)):`);
  for (const x of rows) {
    x.timeVsBuffer = x.ms / ref.ms;
    console.error(`  ${x.name.padEnd(20)} ${x.ms.toFixed(0)} ms (${x.msMin.toFixed(0)}-${x.msMax.toFixed(0)}), gc ${x.gcCount} / ${x.gcPauseMs.toFixed(1)} ms, RSS peak ${(x.rssPeakBytes / 2 ** 20).toFixed(1)} MiB, end ${(x.rssEndBytes / 2 ** 20).toFixed(1)} MiB`);
  }
  return {
    note: `${CHURN_SCOPES} scopes of 32 allocations of 64 B–64 KiB (log-uniform, one byte written each), 32 scopes live, the oldest freed when a new one opens (memctx: a context per scope, delete(); Buffer: references dropped; @thi.ng/malloc: one 64 MiB MemPool, free() of each block); event loop turns every 64 scopes; each allocator in its own process (node --expose-gc), ${CHURN_ROUNDS} round(s), order rotated`,
    scopes: CHURN_SCOPES,
    rounds: CHURN_ROUNDS,
    rows,
  };
}

// ---- main ---------------------------------------------------------------------------------------
async function main() {
  const started = new Date().toISOString();
  const { MemPool } = await import(THING);
  const pool = new MemPool({ size: 4 << 20 });
  const ctx = new MemoryContext({ name: 'peers-bench' });
  const alloc = [];
  const sizeCases = [
    { size: 64, scopeEvery: 4096, n: quick ? 1e5 : 5e5 },
    { size: 4096, scopeEvery: 256, n: quick ? 1e4 : 5e4 },
    { size: 65536, scopeEvery: 16, n: quick ? 1e3 : 5e3 },
  ];
  for (const c of sizeCases) {
    alloc.push(await interleave(`allocation of ${c.size} B`, allocCandidates(ctx, pool, c.size, c.scopeEvery), 'Buffer.allocUnsafe', c.n,
      `scope freed every ${c.scopeEvery} allocations (${(c.size * c.scopeEvery) / 1024} KiB): ctx.reset(), pool.freeAll(); Buffer and Uint8Array by dropping references (ring of 1024)`));
    alloc[alloc.length - 1].size = c.size;
  }
  ctx.delete();
  pool.freeAll();
  const lifecycle = await interleave('request lifecycle', lifecycleCandidates(pool), 'Buffer.allocUnsafe (drop references)', quick ? 5000 : 20000,
    '16 allocations of 64–1024 B per request; the event loop turns every 512 requests');
  const ch = churn();
  const report = {
    started,
    node: process.version,
    thingMallocVersion: THING_VERSION,
    rounds: ROUNDS,
    quick,
    command: `node --expose-gc bench/js/peers-bench.js ${args.join(' ')}`.trim(),
    machine: { cpus: require('node:os').cpus().length, cpuModel: require('node:os').cpus()[0]?.model, memBytes: require('node:os').totalmem() },
    alloc,
    lifecycle,
    churn: ch,
  };
  fs.writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
  console.error(`peers-bench: wrote ${path.relative(root, OUT)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
