#!/usr/bin/env node
// bench/js/demo-figures.js - reads the samples.jsonl of one or more `npm start` runs (any profile)
// and prints, per run and mode, the figures the README quotes (RSS before/at the peak/at the end
// of idle, mapped and in-flight peaks, time back within 8 MiB, hold throughput, p99, the p99 of
// the service's own time (latency minus the backend wait), event-loop delay, recovery and return
// page faults, malloc_trim pauses), the memctx/baseline and memctx/trim ratios, then the medians
// of the ratios over the runs. With --markdown, the per-run rows of docs/MAIN.md's table instead.
// Usage: node bench/js/demo-figures.js [--markdown] <samples.jsonl>...
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

const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const files = args.filter((a) => a !== '--markdown');
const num = (v, d = 0) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }).replace(/,/g, ' '));
const sec = (ms) => (ms === null || ms === undefined ? 'not in idle' : `${fx(ms / 1000, 1)} s`);
const msOrS = (ms) => (ms >= 1000 ? `${fx(ms / 1000, 2)} s` : `${fx(ms, ms >= 100 ? 0 : 1)} ms`);

/** One row of docs/MAIN.md's per-run table; memctx's recovery figures in bold. */
function markdownRow(run, label, s) {
  const bold = (text) => (label === 'memctx' ? `**${text}**` : text);
  const mapped = s.peakMappedBytes === null || s.peakMappedBytes === undefined ? '–' : `${mb(s.peakMappedBytes)} MiB (${mb(s.endMappedBytes)})`;
  const trims = s.trimCount
    ? `${s.trimCount} calls, ${fx(s.trimPauseMs)} ms in all, longest ${fx(s.trimMaxPauseMs, 1)} ms, median ${num(s.trimFaultsAfterMedian)} faults in the second after`
    : '–';
  return `| ${run} | ${label} | ${mb(s.preRampRssBytes)} MiB | ${mb(s.peakRssBytes)} MiB | ${bold(`${mb(s.endRssBytes)} MiB`)} | ${mapped} | ${mb(s.peakRequestBytes)} MiB | ${bold(sec(s.recoveryMs))} | ${fx(s.holdReqPerSec)} | ${msOrS(s.holdP99Ms)} | ${msOrS(s.holdServiceP99Ms)} | ${fx(s.holdLoopDelayP99Ms, 1)} ms | ${fx(s.holdCpuUsPerRequest / 1000, 2)} ms | ${num(s.holdMinorFaults)} | ${num(s.recoveryMinorFaults)} | ${fx(s.recoveryLoopDelayMaxMs, 1)} ms | ${bold(num(s.returnMinorFaults))} | ${trims} |`;
}

const ratios = [];
let run = 0;
for (const file of files) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  const meta = lines.find((r) => r.type === 'meta') || {};
  const sum = {};
  for (const r of lines) if (r.type === 'summary') sum[r.label] = r;
  run++;
  if (markdown) {
    for (const [label, s] of Object.entries(sum)) console.log(markdownRow(run, label, s));
    continue;
  }
  console.log(`${file}: ${meta.command || ''}`);
  for (const [label, s] of Object.entries(sum)) {
    console.log(
      `  ${label.padEnd(8)} RSS ${mb(s.preRampRssBytes)} -> peak ${mb(s.peakRssBytes)} -> end of idle ${mb(s.endRssBytes)} MiB, ` +
        `mapped peak ${mb(s.peakMappedBytes)} end ${mb(s.endMappedBytes)}, in flight peak ${mb(s.peakRequestBytes)} MiB, ` +
        `back within 8 MiB ${s.recoveryMs === null || s.recoveryMs === undefined ? 'not in idle' : `${fx(s.recoveryMs / 1000, 1)} s`}; ` +
        `hold ${fx(s.holdReqPerSec)} req/s, CPU/req ${fx(s.holdCpuUsPerRequest)} us, p99 ${fx(s.holdP99Ms, 1)} ms, own p99 ${fx(s.holdServiceP99Ms, 1)} ms, loop p99 ${fx(s.holdLoopDelayP99Ms, 1)} ms, faults ${fx(s.holdMinorFaults)}; ` +
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
      hold: ratio(m.holdMinorFaults, o.holdMinorFaults),
      ret: ratio(m.returnMinorFaults, o.returnMinorFaults),
    };
    ratios.push(r);
    console.log(`  memctx / ${other}: throughput ${fx(r.thr, 2)}x, p99 ${fx(r.p99, 2)}x, own p99 ${fx(r.own, 2)}x, CPU/req ${fx(r.cpu, 2)}x, hold faults ${fx(r.hold, 2)}x, return faults ${fx(r.ret, 2)}x`);
  }
}
for (const other of ['baseline', 'trim']) {
  const rs = ratios.filter((r) => r.other === other);
  if (rs.length < 2) continue;
  const f = (k) => `${fx(median(rs.map((r) => r[k])), 2)} (${fx(Math.min(...rs.map((r) => r[k])), 2)}-${fx(Math.max(...rs.map((r) => r[k])), 2)})`;
  console.log(`medians of ${rs.length}, memctx / ${other}: throughput ${f('thr')}, p99 ${f('p99')}, own p99 ${f('own')}, CPU/req ${f('cpu')}, hold faults ${f('hold')}, return faults ${f('ret')}`);
}
