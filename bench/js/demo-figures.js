#!/usr/bin/env node
// bench/js/demo-figures.js - reads the samples.jsonl of one or more `npm start` runs (any profile)
// and prints, per run and mode, the figures the README quotes (RSS before/at the peak/at the end
// of idle, mapped and in-flight peaks, time back within 8 MiB, hold throughput, p99, the p99 of
// the service's own time (latency minus the backend wait), event-loop delay, recovery and return
// page faults, malloc_trim pauses), the memctx/baseline and memctx/trim ratios, then the medians
// of the ratios over the runs.
// Usage: node bench/js/demo-figures.js <samples.jsonl>...
'use strict';
const fs = require('node:fs');

const MiB = 1048576;

function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const mb = (v) => (v === null || v === undefined ? 'n/a' : (v / MiB).toFixed(1));
const fx = (v, d = 0) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(d));
const ratio = (a, b) => (a === null || a === undefined || !b ? NaN : a / b);

const ratios = [];
for (const file of process.argv.slice(2)) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  const meta = lines.find((r) => r.type === 'meta') || {};
  const sum = {};
  for (const r of lines) if (r.type === 'summary') sum[r.label] = r;
  console.log(`${file}: ${meta.command || ''}`);
  for (const [label, s] of Object.entries(sum)) {
    console.log(
      `  ${label.padEnd(8)} RSS ${mb(s.preRampRssBytes)} -> peak ${mb(s.peakRssBytes)} -> end of idle ${mb(s.endRssBytes)} MiB, ` +
        `mapped peak ${mb(s.peakMappedBytes)} end ${mb(s.endMappedBytes)}, in flight peak ${mb(s.peakRequestBytes)} MiB, ` +
        `back within 8 MiB ${s.recoveryMs === null || s.recoveryMs === undefined ? 'not in idle' : `${fx(s.recoveryMs / 1000, 1)} s`}; ` +
        `hold ${fx(s.holdReqPerSec)} req/s, p99 ${fx(s.holdP99Ms, 1)} ms, own p99 ${fx(s.holdServiceP99Ms, 1)} ms, loop p99 ${fx(s.holdLoopDelayP99Ms, 1)} ms, faults ${fx(s.holdMinorFaults)}; ` +
        `recovery faults ${fx(s.recoveryMinorFaults)}, GC ${fx(s.recoveryGcPauseMs)} ms, loop max ${fx(s.recoveryLoopDelayMaxMs, 1)} ms; ` +
        `return faults ${fx(s.returnMinorFaults)}` +
        (s.trimCount ? `; ${s.trimCount} trims, ${fx(s.trimPauseMs, 1)} ms in all, longest ${fx(s.trimMaxPauseMs, 1)} ms, median faults after ${fx(s.trimFaultsAfterMedian)}` : ''),
    );
  }
  const m = sum.memctx;
  for (const other of ['baseline', 'trim']) {
    const o = sum[other];
    if (!m || !o) continue;
    const r = {
      other,
      thr: ratio(m.holdReqPerSec, o.holdReqPerSec),
      p99: ratio(m.holdP99Ms, o.holdP99Ms),
      own: ratio(m.holdServiceP99Ms, o.holdServiceP99Ms),
      cpu: ratio(m.holdCpuUsPerRequest, o.holdCpuUsPerRequest),
      ret: ratio(m.returnMinorFaults, o.returnMinorFaults),
    };
    ratios.push(r);
    console.log(`  memctx / ${other}: throughput ${fx(r.thr, 2)}x, p99 ${fx(r.p99, 2)}x, own p99 ${fx(r.own, 2)}x, CPU/req ${fx(r.cpu, 2)}x, return faults ${fx(r.ret, 2)}x`);
  }
}
for (const other of ['baseline', 'trim']) {
  const rs = ratios.filter((r) => r.other === other);
  if (rs.length < 2) continue;
  const f = (k) => `${fx(median(rs.map((r) => r[k])), 2)} (${fx(Math.min(...rs.map((r) => r[k])), 2)}-${fx(Math.max(...rs.map((r) => r[k])), 2)})`;
  console.log(`medians of ${rs.length}, memctx / ${other}: throughput ${f('thr')}, p99 ${f('p99')}, own p99 ${f('own')}, CPU/req ${f('cpu')}, return faults ${f('ret')}`);
}
