#!/usr/bin/env node
// bench/js/lifecycle-loop.js - one build's request lifecycle in a tight synchronous loop (new
// context, 16 allocUnsafe(64), delete; no event-loop turn), in a fresh process per build, so that
// process-wide V8 state (protectors, deoptimisations) of one build cannot affect the other.
// Usage: node bench/js/lifecycle-loop.js [treeA] [treeB] ... (default: this checkout); prints the
// median ns per lifecycle of 7 runs of 100 000 for each tree, trees alternated over 3 rounds.
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');

if (process.argv[2] === '--child') {
  const m = require(path.join(process.argv[3], 'dist'));
  const N = 100000;
  const sink = [];
  const o = { name: 'request' };
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      const c = new m.MemoryContext(o);
      for (let j = 0; j < 16; j++) sink[j] = c.allocUnsafe(64);
      c.delete();
    }
  };
  const ns = [];
  for (let k = 0; k < 7; k++) {
    const t0 = process.hrtime.bigint();
    run(N);
    ns.push(Number(process.hrtime.bigint() - t0) / N);
  }
  ns.sort((a, b) => a - b);
  console.log(ns[3]);
} else {
  const trees = process.argv.length > 2 ? process.argv.slice(2).map((t) => path.resolve(t)) : [path.join(__dirname, '..', '..')];
  const res = new Map(trees.map((t) => [t, []]));
  for (let r = 0; r < 3; r++) {
    for (const t of r % 2 === 0 ? trees : [...trees].reverse()) {
      const out = spawnSync(process.execPath, [__filename, '--child', t], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(out.stderr);
      res.get(t).push(Number(out.stdout.trim()));
    }
  }
  for (const [t, v] of res) {
    v.sort((a, b) => a - b);
    console.log(`${t}: ${v[1].toFixed(0)} ns per lifecycle (median of 3 processes; ${v.map((x) => x.toFixed(0)).join(', ')})`);
  }
}
