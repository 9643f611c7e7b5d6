#!/usr/bin/env node
// bench/js/large-bodies.js - the memory work of the spike profile's requests, in one process and
// without HTTP: per request, a body of 1-4 MiB (one of 8 sizes, as the demo's client sends) or a
// response of 0.25-2 MiB, written through; 200 requests alive at a time, the oldest released as
// each new one starts. Ways compared: plain Buffers with one Buffer per body; memctx with one
// allocation per body; memctx with the body in 64 KiB pieces. Each way runs in a fresh process,
// the ways alternate over the rounds; prints the median and min-max of CPU time, system time and
// minor page faults per request.
// Usage: node bench/js/large-bodies.js [--rounds 5] [--requests 3000]
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const WAYS = ['plain, one Buffer per body', 'memctx, one allocation per body', 'memctx, 64 KiB pieces'];
const PIECE_BYTES = 64 * 1024;
const IN_FLIGHT = 200;

function child(way, requests) {
  const memctx = way.startsWith('memctx') ? require(path.join(__dirname, '..', '..', 'dist', 'index')) : null;
  const pieces = way.endsWith('pieces');
  let seed = 1;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const logUniform = (lo, hi) => Math.round(Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * rand()));
  const uploads = Array.from({ length: 8 }, () => logUniform(1 << 20, 4 << 20));
  const incoming = Buffer.alloc(64 * 1024, 65); // what a socket read hands over
  const live = [];
  const request = () => {
    const ctx = memctx === null ? null : new memctx.MemoryContext({ name: 'request' });
    const alloc = ctx === null ? (n) => Buffer.allocUnsafe(n) : (n) => ctx.allocUnsafe(n);
    const body = (n) => {
      if (!pieces || n <= PIECE_BYTES) return [alloc(n)];
      const out = [];
      for (let off = 0; off < n; off += PIECE_BYTES) out.push(alloc(Math.min(PIECE_BYTES, n - off)));
      return out;
    };
    const held = [];
    // 70 % upload a body and get a 16-256 KiB reply in 16 KiB pieces, as the demo's /upload does;
    // the rest get a 0.25-2 MiB response body.
    const upload = rand() < 0.7;
    const parts = body(upload ? uploads[Math.floor(rand() * 8)] : logUniform(256 << 10, 2 << 20));
    for (const part of parts) {
      for (let off = 0; off < part.length; off += incoming.length) incoming.copy(part, off, 0, Math.min(incoming.length, part.length - off));
      held.push(part);
    }
    if (upload) {
      const reply = logUniform(16 << 10, 256 << 10);
      for (let off = 0; off < reply; off += 16384) held.push(alloc(Math.min(16384, reply - off)).fill(66));
    }
    live.push({ ctx, held });
    if (live.length > IN_FLIGHT) {
      const old = live.shift();
      if (old.ctx !== null) old.ctx.delete();
    }
  };
  for (let i = 0; i < 2 * IN_FLIGHT; i++) request(); // warm: the heap or the top chunks reach their size
  const u0 = process.resourceUsage();
  for (let i = 0; i < requests; i++) request();
  const u1 = process.resourceUsage();
  const us = (k) => (u1[k] - u0[k]) / requests;
  process.stdout.write(JSON.stringify({
    cpuMs: (us('userCPUTime') + us('systemCPUTime')) / 1000,
    sysMs: us('systemCPUTime') / 1000,
    faults: us('minorPageFault'),
  }));
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main() {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
  const rounds = opt('--rounds', 5);
  const requests = opt('--requests', 3000);
  const results = new Map(WAYS.map((w) => [w, []]));
  for (let r = 0; r < rounds; r++) {
    // Alternate the order so that a drift of the machine hits every way alike.
    const order = r % 2 === 0 ? WAYS : WAYS.slice().reverse();
    for (const way of order) {
      const p = spawnSync(process.execPath, [__filename, '--child', way, String(requests)], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${way}: exit ${p.status}: ${p.stderr}`);
      results.get(way).push(JSON.parse(p.stdout));
    }
  }
  console.log(`${rounds} rounds of ${requests} requests, ${IN_FLIGHT} alive at a time; per request, median (min-max):`);
  for (const way of WAYS) {
    const rs = results.get(way);
    const f = (k, d) => `${median(rs.map((x) => x[k])).toFixed(d)} (${Math.min(...rs.map((x) => x[k])).toFixed(d)}-${Math.max(...rs.map((x) => x[k])).toFixed(d)})`;
    console.log(`  ${way.padEnd(32)} CPU ${f('cpuMs', 2)} ms, system ${f('sysMs', 2)} ms, page faults ${f('faults', 0)}`);
  }
}

if (process.argv[2] === '--child') child(process.argv[3], Number(process.argv[4]));
else main();
