// lib/report/html.ts - renders report data as one self-contained HTML file (uPlot inlined from node_modules, works offline).
//
// Charts over time, one line per series (mode): RSS; memctx mapped and resident; request memory
// in flight (when the samples carry it); requests per second; p99 latency; event-loop delay; page
// faults; V8 heap used and external; GC pause; malloc_trim pauses (when the run has trims).
// Phases are shaded behind the lines.
// All data sits in the page as JSON; nothing is fetched, so the file can be mailed or archived.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MonitorSample } from '../monitor';
import { labelsOf, originOf, type ReportData } from './data';
import { summaryTables } from './table';

const MiB = 1024 * 1024;

interface ChartSeries {
  label: string;
  /** Line name in the legend. */
  name: string;
  dash: boolean;
}
interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  series: ChartSeries[];
  /** uPlot.join input: per table [x, y1, y2...]. */
  tables: (number | null)[][][];
}

type Field = (s: MonitorSample) => number | null;
interface FieldSpec {
  name: string;
  dash: boolean;
  get: Field;
}

const CHARTS: { id: string; title: string; unit: string; fields: FieldSpec[] }[] = [
  { id: 'rss', title: 'Process RSS', unit: 'MiB', fields: [{ name: 'RSS', dash: false, get: (s) => s.rssBytes / MiB }] },
  {
    id: 'mapped',
    title: 'memctx mapped and resident bytes',
    unit: 'MiB',
    fields: [
      { name: 'mapped', dash: false, get: (s) => (s.mappedBytes === null ? null : s.mappedBytes / MiB) },
      { name: 'resident', dash: true, get: (s) => (s.residentBytes === null ? null : s.residentBytes / MiB) },
    ],
  },
  {
    id: 'inflight',
    title: 'Request memory in flight (bytes held by unfinished requests, most per sample)',
    unit: 'MiB',
    fields: [{ name: 'in flight', dash: false, get: (s) => { const v = (s as { requestBytesMax?: number }).requestBytesMax; return typeof v === 'number' ? v / MiB : null; } }],
  },
  { id: 'rps', title: 'Requests per second', unit: 'req/s', fields: [{ name: 'req/s', dash: false, get: (s) => s.reqPerSec }] },
  { id: 'p99', title: 'Latency p99 (service side, per sample)', unit: 'ms', fields: [{ name: 'p99', dash: false, get: (s) => s.latencyP99Ms }] },
  {
    id: 'heap',
    title: 'V8 heap used and external memory',
    unit: 'MiB',
    fields: [
      { name: 'heap used', dash: false, get: (s) => s.heapUsedBytes / MiB },
      { name: 'external', dash: true, get: (s) => s.externalBytes / MiB },
    ],
  },
  {
    id: 'eld',
    title: 'Event-loop delay per sample (perf_hooks.monitorEventLoopDelay): p99 and max',
    unit: 'ms',
    fields: [
      { name: 'p99', dash: false, get: (s) => s.eventLoopDelayP99Ms ?? null },
      { name: 'max', dash: true, get: (s) => s.eventLoopDelayMaxMs ?? null },
    ],
  },
  { id: 'faults', title: 'Minor page faults per sample (first touches of pages)', unit: 'faults', fields: [{ name: 'faults', dash: false, get: (s) => s.minorFaults ?? null }] },
  { id: 'gc', title: 'GC pause per sample', unit: 'ms', fields: [{ name: 'GC pause', dash: false, get: (s) => s.gcPauseMs }] },
];

function round(v: number | null, digits: number): number | null {
  if (v === null || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function buildCharts(data: ReportData): ChartSpec[] {
  const labels = labelsOf(data);
  const bySeries = new Map<string, MonitorSample[]>(labels.map((l) => [l, []]));
  for (const s of data.samples) bySeries.get(s.label)?.push(s);
  for (const list of bySeries.values()) list.sort((a, b) => a.timeMs - b.timeMs);
  const charts: ChartSpec[] = [];
  for (const c of CHARTS) {
    const series: ChartSeries[] = [];
    const tables: (number | null)[][][] = [];
    for (const label of labels) {
      const list = bySeries.get(label) ?? [];
      // Skip fields a series never measured (mapped bytes of a process without memctx).
      const fields = c.fields.filter((f) => list.some((s) => f.get(s) !== null));
      if (fields.length === 0) continue;
      const origin = originOf(data, label);
      const table: (number | null)[][] = [list.map((s) => round((s.timeMs - origin) / 1000, 3))];
      for (const f of fields) {
        table.push(list.map((s) => round(f.get(s), 3)));
        series.push({ label, name: c.fields.length > 1 ? `${label} ${f.name}` : label, dash: f.dash });
      }
      tables.push(table);
    }
    if (series.length > 0) charts.push({ id: c.id, title: c.title, unit: c.unit, series, tables });
  }
  const trims = data.trims ?? [];
  if (trims.length > 0) {
    const series: ChartSeries[] = [];
    const tables: (number | null)[][][] = [];
    for (const label of labels) {
      const list = trims.filter((t) => t.label === label).sort((a, b) => a.timeMs - b.timeMs);
      if (list.length === 0) continue;
      const origin = originOf(data, label);
      tables.push([list.map((t) => round((t.timeMs - origin) / 1000, 3)), list.map((t) => round(t.durationMs, 3))]);
      series.push({ label, name: label, dash: false });
    }
    charts.push({ id: 'trim', title: 'malloc_trim(0) pause, each call', unit: 'ms', series, tables });
  }
  return charts;
}

/** Phases of the first series that has them, in seconds from that series' origin. */
function phaseBands(data: ReportData): { name: string; start: number; end: number }[] {
  const label = labelsOf(data).find((l) => data.phases.some((p) => p.label === l));
  if (label === undefined) return [];
  const origin = originOf(data, label);
  return data.phases
    .filter((p) => p.label === label)
    .map((p) => ({ name: p.name, start: (p.startMs - origin) / 1000, end: (p.endMs - origin) / 1000 }));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function uplotAsset(file: string): string {
  const dir = path.dirname(require.resolve('uplot/package.json'));
  return fs.readFileSync(path.join(dir, 'dist', file), 'utf8');
}

// The page's own script: aligns series with uPlot.join, draws one uPlot per chart, shades phases.
const PAGE_SCRIPT = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02'];
  var phaseFill = { warmup: 'rgba(120,120,120,0.10)', rampup: 'rgba(217,95,2,0.10)', hold: 'rgba(200,30,30,0.10)',
                    rampdown: 'rgba(117,112,179,0.12)', trickle: 'rgba(230,171,2,0.12)', idle: 'rgba(27,158,119,0.10)',
                    return: 'rgba(231,41,138,0.10)' };
  var labels = data.labels;
  function colorOf(label) { var i = labels.indexOf(label); return palette[(i < 0 ? 0 : i) % palette.length]; }
  function shadePhases(u) {
    var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
    ctx.save();
    ctx.font = (11 * devicePixelRatio) + 'px sans-serif';
    ctx.textBaseline = 'top';
    data.phases.forEach(function (p) {
      var x0 = u.valToPos(p.start, 'x', true), x1 = u.valToPos(p.end, 'x', true);
      ctx.fillStyle = phaseFill[p.name] || 'rgba(0,0,0,0.05)';
      ctx.fillRect(x0, top, Math.max(0, x1 - x0), height);
      ctx.fillStyle = 'rgba(0,0,0,0.55)';
      ctx.fillText(p.name, x0 + 3 * devicePixelRatio, top + 2 * devicePixelRatio);
    });
    ctx.restore();
  }
  var width = Math.max(480, Math.min(1100, document.body.clientWidth - 40));
  var drawn = 0;
  data.charts.forEach(function (c) {
    var box = document.getElementById('chart-' + c.id);
    var aligned = c.tables.length === 1 ? c.tables[0] : uPlot.join(c.tables);
    var series = [{ label: 'time (s)' }].concat(c.series.map(function (s) {
      return { label: s.name, stroke: colorOf(s.label), width: 1.5, dash: s.dash ? [6, 4] : undefined, spanGaps: true,
               value: function (u, v) { return v == null ? '-' : v.toFixed(1) + ' ' + c.unit; } };
    }));
    new uPlot({
      width: width, height: 240, series: series,
      scales: { x: { time: false } },
      axes: [{ label: 'seconds since warm-up start' }, { label: c.unit, size: 70 }],
      hooks: { drawClear: [shadePhases] },
    }, aligned, box);
    var points = 0;
    for (var i = 1; i < aligned.length; i++) aligned[i].forEach(function (v) { if (v != null) points++; });
    box.setAttribute('data-series', c.series.map(function (s) { return s.name; }).join(','));
    box.setAttribute('data-points', String(points));
    drawn++;
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
`;

export interface RenderOptions {
  title?: string;
}

/** The whole report page as a string. */
export function renderReportHtml(data: ReportData, options: RenderOptions = {}): string {
  const charts = buildCharts(data);
  const phases = phaseBands(data);
  const labels = labelsOf(data);
  const title = options.title ?? data.meta?.title ?? 'memctx memory report';
  const tables = data.summaries.length > 0 ? summaryTables(data.summaries) : [];
  const meta = data.meta;
  const metaLine = [
    meta?.command ? `command: <code>${escapeHtml(meta.command)}</code>` : '',
    meta?.startedAt ? `started ${escapeHtml(meta.startedAt)}` : '',
    meta?.node ? `node ${escapeHtml(meta.node)}` : '',
    meta?.cpus ? `${meta.cpus} CPUs` : '',
    ...Object.entries(meta?.glibcTunables ?? {}).filter(([, t]) => typeof t === 'string')
      .map(([label, t]) => `${escapeHtml(label)}: <code>GLIBC_TUNABLES=${escapeHtml(String(t))}</code>`),
    `${data.samples.length} samples of ${labels.map(escapeHtml).join(', ')}`,
  ].filter((s) => s.length > 0).join(' · ');
  const tableHtml = tables.map((table) => `
<p class="table-title">${escapeHtml(table.title)}</p>
<table class="summary">
<thead><tr>${table.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>${table.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n')}</tbody>
</table>`).join('\n');
  const chartDivs = charts
    .map((c) => `<section><h2>${escapeHtml(c.title)}</h2><div class="chart" id="chart-${c.id}"></div></section>`)
    .join('\n');
  const payload = { labels, phases, charts: charts.map((c) => ({ id: c.id, unit: c.unit, series: c.series, tables: c.tables })) };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${uplotAsset('uPlot.min.css')}</style>
<style>
body { font-family: system-ui, sans-serif; margin: 20px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 18px 0 4px; }
.meta { color: #555; font-size: 13px; margin-bottom: 12px; }
table.summary { border-collapse: collapse; font-size: 13px; }
table.summary th, table.summary td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
table.summary th:first-child, table.summary td:first-child { text-align: left; }
.legend-note { color: #555; font-size: 12px; }
.table-title { color: #333; font-size: 13px; margin: 14px 0 4px; max-width: 1100px; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="meta">${metaLine}</div>
${tableHtml}
<p class="legend-note">Shaded bands are the load phases (warm-up, ramp up, hold, ramp down, then trickle, idle and return where the profile has them). Time is measured from each run's start, so the modes overlay.</p>
${chartDivs}
<script>${uplotAsset('uPlot.iife.min.js')}</script>
<script type="application/json" id="report-data">${scriptJson(payload)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** Renders and writes the report; returns the absolute path. */
export function writeReport(data: ReportData, file: string, options: RenderOptions = {}): string {
  const abs = path.resolve(file);
  fs.writeFileSync(abs, renderReportHtml(data, options));
  return abs;
}
