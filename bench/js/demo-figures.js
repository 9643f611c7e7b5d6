#!/usr/bin/env node
// bench/js/demo-figures.js - reads the samples.jsonl of one or more `npm start` runs (any profile)
// and prints, per run and mode, the figures the README quotes (RSS before/at the peak/at the end
// of idle, mapped and in-flight peaks, time back within 8 MiB, hold throughput, p99, the p99 of
// the service's own time (latency minus the backend wait), event-loop delay, recovery and return
// page faults, malloc_trim pauses), the memctx/baseline and memctx/trim ratios, then the medians
// of the ratios over the runs; from the samples, V8's external memory against the request memory
// in flight during hold, and the sample of the recovery's worst event-loop delay (its phase, RSS,
// mapped bytes and GC pause), which tells a pause of the load from one of the release. With --markdown, the per-run rows of docs/MAIN.md's table instead;
// with --ranges, each figure's range over the runs per mode (README's spike table) and in how many
// runs each of the main job's three targets was met.
// Usage: node bench/js/demo-figures.js [--markdown | --ranges] <samples.jsonl>...
'use strict';
const fs = require('node:fs');
const path = require('node:path');

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
const ranges = args.includes('--ranges');
const files = args.filter((a) => a !== '--markdown' && a !== '--ranges');
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

/** A mode's samples of one phase, or from the end of hold to the end of idle ('recovery', as demo/src/summary.ts). */
function samplesOf(lines, label, phase) {
  const phases = phase === 'recovery' ? ['rampdown', 'trickle', 'idle'] : [phase];
  return lines.filter((r) => r.type === 'sample' && r.label === label && phases.includes(r.phase));
}

/** From the samples: median external bytes / request bytes in hold; the recovery's worst-delay sample. */
function sampleFigures(lines, label) {
  const hold = samplesOf(lines, label, 'hold').filter((r) => r.requestBytes > 0 && Number.isFinite(r.externalBytes));
  const worst = samplesOf(lines, label, 'recovery')
    .filter((r) => Number.isFinite(r.eventLoopDelayMaxMs))
    .reduce((a, r) => (a === null || r.eventLoopDelayMaxMs > a.eventLoopDelayMaxMs ? r : a), null);
  return { externalPerRequestByte: median(hold.map((r) => r.externalBytes / r.requestBytes)), worst };
}

/** The figures of README's spike table: [label, field, format of one value]. */
const RANGE_ROWS = [
  ['peak RSS', 'peakRssBytes', (v) => `${mb(v)} MiB`],
  ['RSS before the ramp', 'preRampRssBytes', (v) => `${mb(v)} MiB`],
  ['RSS at the end of idle', 'endRssBytes', (v) => `${mb(v)} MiB`],
  ['memctx mapped bytes at the peak', 'peakMappedBytes', (v) => `${mb(v)} MiB`],
  ['memctx mapped bytes at the end of idle', 'endMappedBytes', (v) => `${mb(v)} MiB`],
  ['request memory in flight at the peak', 'peakRequestBytes', (v) => `${mb(v)} MiB`],
  ['back within 8 MiB of pre-ramp RSS', 'recoveryMs', (v) => `${fx(v / 1000, 1)} s`],
  ['requests per second (hold)', 'holdReqPerSec', (v) => fx(v)],
  ['p99 (hold), end to end', 'holdP99Ms', (v) => msOrS(v)],
  ["p99 of the service's own time (hold)", 'holdServiceP99Ms', (v) => msOrS(v)],
  ['event-loop delay p99 (hold)', 'holdLoopDelayP99Ms', (v) => `${fx(v, 1)} ms`],
  ['CPU time per request (hold)', 'holdCpuUsPerRequest', (v) => `${fx(v / 1000, 2)} ms`],
  ['page faults (hold)', 'holdMinorFaults', (v) => num(v)],
  ['page faults, end of load to end of idle', 'recoveryMinorFaults', (v) => num(v)],
  ['worst event-loop delay, end of load to end of idle', 'recoveryLoopDelayMaxMs', (v) => `${fx(v, 1)} ms`],
  ['GC pause, end of load to end of idle', 'recoveryGcPauseMs', (v) => `${fx(v)} ms`],
  ['page faults when traffic returns', 'returnMinorFaults', (v) => num(v)],
  ['garbage collections, whole run', 'gcCount', (v) => num(v)],
  ['GC pause, whole run', 'gcPauseMs', (v) => msOrS(v)],
  ['malloc_trim calls', 'trimCount', (v) => fx(v)],
  ['malloc_trim pauses in all', 'trimPauseMs', (v) => `${fx(v)} ms`],
  ['longest malloc_trim pause', 'trimMaxPauseMs', (v) => `${fx(v, 1)} ms`],
];

/** "min–max" of one field over the runs' summaries; "–" when no run has it ("never" for a
 * recovery that happened in no run), "(none in N runs)" added when some runs lack it. */
function range(sums, field, format) {
  const vs = sums.map((s) => s[field]);
  const got = vs.filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  if (got.length === 0) return field === 'recoveryMs' && sums.length > 0 ? 'never' : '–';
  const lo = format(Math.min(...got)), hi = format(Math.max(...got));
  const text = lo === hi ? lo : `${lo}–${hi}`;
  return got.length < vs.length ? `${text} (none in ${vs.length - got.length} runs)` : text;
}

const ratios = [];
const perRun = [];
let run = 0;
for (const file of files) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  const meta = lines.find((r) => r.type === 'meta') || {};
  const sum = {};
  for (const r of lines) if (r.type === 'summary') sum[r.label] = r;
  run++;
  perRun.push({ file, meta, sum });
  if (ranges) continue;
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
    const f = sampleFigures(lines, label);
    const w = f.worst;
    console.log(
      `           hold: external memory ${fx(f.externalPerRequestByte, 2)}x the request memory in flight (median of the samples); ` +
        `${fx(s.gcCount)} GCs in the run` +
        (w ? `; recovery's worst loop delay ${fx(w.eventLoopDelayMaxMs, 1)} ms in ${w.phase} at ${fx(w.elapsedMs / 1000, 1)} s: RSS ${mb(w.rssBytes)} MiB, mapped ${mb(w.mappedBytes)} MiB, GC pause ${fx(w.gcPauseMs, 1)} ms in that sample` : ''),
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
      gc: ratio(m.gcCount, o.gcCount),
    };
    ratios.push(r);
    console.log(`  memctx / ${other}: throughput ${fx(r.thr, 2)}x, p99 ${fx(r.p99, 2)}x, own p99 ${fx(r.own, 2)}x, CPU/req ${fx(r.cpu, 2)}x, hold faults ${fx(r.hold, 2)}x, return faults ${fx(r.ret, 2)}x, GCs ${fx(r.gc, 2)}x`);
  }
}
for (const other of ['baseline', 'trim']) {
  const rs = ratios.filter((r) => r.other === other);
  if (rs.length < 2) continue;
  const f = (k) => `${fx(median(rs.map((r) => r[k])), 2)} (${fx(Math.min(...rs.map((r) => r[k])), 2)}-${fx(Math.max(...rs.map((r) => r[k])), 2)})`;
  console.log(`medians of ${rs.length}, memctx / ${other}: throughput ${f('thr')}, p99 ${f('p99')}, own p99 ${f('own')}, CPU/req ${f('cpu')}, hold faults ${f('hold')}, return faults ${f('ret')}, GCs ${f('gc')}`);
}

if (ranges) {
  const labels = [...new Set(perRun.flatMap((r) => Object.keys(r.sum)))];
  console.log(`${perRun.length} runs: ${perRun.map((r) => r.meta.command || r.file).join('; ')}`);
  console.log(`| | ${labels.join(' | ')} |`);
  console.log(`|---|${labels.map(() => '---').join('|')}|`);
  for (const [name, field, format] of RANGE_ROWS) {
    const cells = labels.map((l) => range(perRun.map((r) => r.sum[l]).filter(Boolean), field, format));
    if (cells.every((c) => c === '–')) continue;
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
  // The targets as the demo judges them (demo/src/main.ts): decay + 1 s, the facade's default decay.
  const { decayMs } = require(path.join(__dirname, '..', '..', 'dist', 'index')).getConfiguration();
  const withTrim = perRun.filter((r) => r.sum.memctx && r.sum.trim);
  const count = (ok) => `${withTrim.filter((r) => ok(r.sum.memctx, r.sum.trim)).length} of ${withTrim.length}`;
  const spread = (f) => {
    const xs = withTrim.map((r) => f(r.sum.memctx, r.sum.trim)).filter(Number.isFinite);
    return xs.length ? `${fx(Math.min(...xs), 2)}–${fx(Math.max(...xs), 2)}×, median ${fx(median(xs), 2)}×` : 'n/a';
  };
  console.log(`targets: memctx back within 8 MiB within decay + 1 s (${fx((decayMs + 1000) / 1000, 1)} s): met in ${count((m) => m.recoveryMs !== null && m.recoveryMs !== undefined && m.recoveryMs <= decayMs + 1000)}`);
  console.log(`targets: memctx own p99 (hold) no worse than trim's: met in ${count((m, t) => m.holdServiceP99Ms <= t.holdServiceP99Ms)} (memctx / trim ${spread((m, t) => m.holdServiceP99Ms / t.holdServiceP99Ms)})`);
  console.log(`targets: memctx fewer page faults than trim when traffic returns: met in ${count((m, t) => m.returnMinorFaults < t.returnMinorFaults)} (memctx / trim ${spread((m, t) => m.returnMinorFaults / t.returnMinorFaults)})`);
}
