#!/usr/bin/env node
// bench/js/before-after.js - the facade benchmarks of this tree against another build of memctx
// (e.g. a checkout of the commit before a change), interleaved in one run: each case times both
// builds in fresh processes, alternating which goes first, over several rounds; prints the median
// and min-max per build and the ratio after / before (above 1 is slower), and writes JSON.
// Usage: node --expose-gc bench/js/before-after.js <before-tree> [--after TREE] [--rounds N] [--only TEXT] [--out FILE]
// (--after: the tree measured as "after", default this checkout; --only: the cases whose name
// contains TEXT)
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const CASES = {
  // ns per allocation; the scope freed as in facade-bench.js, its cost included
  'allocUnsafe(64)': { n: 400000, run: (m, n) => { const c = new m.MemoryContext(); const keep = []; for (let i = 0; i < n; i++) { keep[i & 1023] = c.allocUnsafe(64); if ((i & 4095) === 4095) c.reset(); } c.delete(); } },
  'allocUnsafe(4096)': { n: 200000, run: (m, n) => { const c = new m.MemoryContext(); const keep = []; for (let i = 0; i < n; i++) { keep[i & 255] = c.allocUnsafe(4096); if ((i & 255) === 255) c.reset(); } c.delete(); } },
  'alloc(4096)': { n: 100000, run: (m, n) => { const c = new m.MemoryContext(); const keep = []; for (let i = 0; i < n; i++) { keep[i & 255] = c.alloc(4096); if ((i & 255) === 255) c.reset(); } c.delete(); } },
  // ns per request: new context, 16 allocUnsafe of 64-1024 B, delete
  'request lifecycle, detach': { n: 50000, run: (m, n) => lifecycle(m, n, 'detach') },
  'request lifecycle, reserve': { n: 20000, run: (m, n) => lifecycle(m, n, 'reserve') },
};

const WARM_RUNS = 3;
const TIMED_RUNS = 21;

function lifecycle(m, n, releaseMode) {
  const o = { name: 'request', releaseMode };
  const sink = [];
  for (let i = 0; i < n; i++) {
    const c = new m.MemoryContext(o);
    for (let j = 0; j < 16; j++) sink[j] = c.allocUnsafe(64 + ((j * 61) % 960));
    c.delete();
  }
}

if (process.argv[2] === '--child') {
  const m = require(path.join(process.argv[3], 'dist'));
  const c = CASES[process.argv[4]];
  // Warm-up of WARM_RUNS whole runs: V8 grows its heap over the first runs of a process (a
  // thousand page faults or more in a run that grows it, twice the time of a steady run), and a
  // shorter warm-up left that growth in the timed runs of one build and not the other's. The
  // median of TIMED_RUNS: some states only set in after a dozen runs (glibc's heap can start
  // shrinking and refaulting at every scavenge after that many runs of 50 000 requests), and a
  // service runs in its steady state.
  for (let k = 0; k < WARM_RUNS; k++) c.run(m, c.n);
  const ns = [];
  for (let k = 0; k < TIMED_RUNS; k++) {
    const t0 = process.hrtime.bigint();
    c.run(m, c.n);
    ns.push(Number(process.hrtime.bigint() - t0) / c.n);
  }
  ns.sort((a, b) => a - b);
  console.log(ns[TIMED_RUNS >> 1]);
  return;
}

const args = process.argv.slice(2);
const before = path.resolve(args[0]);
const afterArg = args.indexOf('--after');
const after = afterArg >= 0 ? path.resolve(args[afterArg + 1]) : path.join(__dirname, '..', '..');
const roundsArg = args.indexOf('--rounds');
const ROUNDS = roundsArg >= 0 ? Number(args[roundsArg + 1]) : 5;
const outArg = args.indexOf('--out');
const onlyArg = args.indexOf('--only');
const only = onlyArg >= 0 ? args[onlyArg + 1] : '';
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const one = (tree, name) => {
  const r = spawnSync(process.execPath, [__filename, '--child', tree, name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${name} in ${tree}: ${r.stderr}`);
  return Number(r.stdout.trim());
};
const results = [];
for (const name of Object.keys(CASES).filter((n) => n.includes(only))) {
  const b = [];
  const a = [];
  const ratio = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['b', 'a'] : ['a', 'b'];
    const t = {};
    for (const w of order) t[w] = one(w === 'b' ? before : after, name);
    b.push(t.b);
    a.push(t.a);
    ratio.push(t.a / t.b);
  }
  const row = { name, beforeNs: median(b), afterNs: median(a), ratio: median(ratio), ratioMin: Math.min(...ratio), ratioMax: Math.max(...ratio) };
  results.push(row);
  console.log(`${name.padEnd(28)} before ${row.beforeNs.toFixed(1).padStart(8)} ns  after ${row.afterNs.toFixed(1).padStart(8)} ns  ` +
    `after/before ${row.ratio.toFixed(2)}x (${row.ratioMin.toFixed(2)}-${row.ratioMax.toFixed(2)})`);
}
if (outArg >= 0) {
  fs.writeFileSync(args[outArg + 1], JSON.stringify({ date: new Date().toISOString(), node: process.version, before, after, rounds: ROUNDS, results }, null, 2) + '\n');
}
