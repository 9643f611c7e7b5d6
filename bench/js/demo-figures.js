#!/usr/bin/env node
// bench/js/demo-figures.js - reads the samples.jsonl of one or more `npm start` runs and prints,
// per run, the memctx/baseline ratios this benchmark tracks: hold throughput, CPU per request and
// V8 heap in use after the idle phase (last sample: after the services' idle full GC), then the
// medians over the runs. Usage: node bench/js/demo-figures.js <samples.jsonl>...
'use strict';
const fs = require('node:fs');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const rows = [];
for (const file of process.argv.slice(2)) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  const sum = {};
  const lastHeap = {};
  for (const r of lines) {
    if (r.type === 'summary') sum[r.label] = r;
    if (r.type === 'sample') lastHeap[r.label] = r.heapUsedBytes;
  }
  const m = sum.memctx;
  const b = sum.baseline;
  if (!m || !b) continue;
  const row = {
    file,
    reqM: m.holdReqPerSec, reqB: b.holdReqPerSec, thr: m.holdReqPerSec / b.holdReqPerSec,
    cpuM: m.holdCpuUsPerRequest, cpuB: b.holdCpuUsPerRequest, cpu: m.holdCpuUsPerRequest / b.holdCpuUsPerRequest,
    heapM: lastHeap.memctx / 1048576, heapB: lastHeap.baseline / 1048576,
    p99: m.holdP99Ms / b.holdP99Ms, gcM: m.gcPauseMs, gcB: b.gcPauseMs,
  };
  rows.push(row);
  console.log(`${file}: req/s ${row.reqM.toFixed(0)}/${row.reqB.toFixed(0)} = ${row.thr.toFixed(2)}x, ` +
    `CPU/req ${row.cpuM.toFixed(0)}/${row.cpuB.toFixed(0)} us = ${row.cpu.toFixed(2)}x, p99 ${row.p99.toFixed(2)}x, ` +
    `heap after idle ${row.heapM.toFixed(1)}/${row.heapB.toFixed(1)} MiB, GC pause ${row.gcM.toFixed(0)}/${row.gcB.toFixed(0)} ms`);
}
if (rows.length > 1) {
  const f = (k) => `${median(rows.map((r) => r[k])).toFixed(2)} (${Math.min(...rows.map((r) => r[k])).toFixed(2)}-${Math.max(...rows.map((r) => r[k])).toFixed(2)})`;
  console.log(`medians of ${rows.length}: throughput ${f('thr')}, CPU/req ${f('cpu')}, p99 ${f('p99')}, ` +
    `heap after idle memctx ${f('heapM')} MiB, baseline ${f('heapB')} MiB`);
}
