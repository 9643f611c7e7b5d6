// lib/report/table.ts - the summary table (peak RSS, RSS after load, throughput, p99, GC) as rows for the terminal and the HTML report.
import type { SummaryRecord } from './data';

const MiB = 1024 * 1024;

export function mib(bytes: number | null | undefined, digits = 1): string {
  return bytes === null || bytes === undefined ? 'n/a' : `${(bytes / MiB).toFixed(digits)} MiB`;
}

function num(v: number | null | undefined, digits: number, unit = ''): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(digits)}${unit}`;
}

export interface Table {
  headers: string[];
  rows: string[][];
}

/** One row per series: the figures the README quotes. */
export function summaryTable(summaries: readonly SummaryRecord[]): Table {
  const headers = [
    'mode',
    'pre-ramp RSS',
    'peak RSS',
    'RSS 2 s after load',
    'RSS at end',
    'peak mapped',
    'req/s (hold)',
    'p50 (hold)',
    'p99 (hold)',
    'CPU (hold)',
    'CPU/req',
    'GC count',
    'GC pause',
    'checked',
  ];
  const rows = summaries.map((s) => [
    s.label,
    mib(s.preRampRssBytes),
    mib(s.peakRssBytes),
    mib(s.rssAfterLoad2sBytes),
    mib(s.endRssBytes),
    mib(s.peakMappedBytes),
    num(s.holdReqPerSec, 0),
    num(s.holdP50Ms, 2, ' ms'),
    num(s.holdP99Ms, 2, ' ms'),
    num(s.holdCpuPercent, 0, '%'),
    num(s.holdCpuUsPerRequest, 0, ' µs'),
    String(s.gcCount),
    num(s.gcPauseMs, 0, ' ms'),
    s.verified === null ? 'off' : `${s.verified} ok, ${s.mismatches ?? 0} bad`,
  ]);
  return { headers, rows };
}

/** Plain-text rendering with aligned columns (numbers right-aligned). */
export function formatTable(table: Table): string {
  const widths = table.headers.map((h, i) => Math.max(h.length, ...table.rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(table.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}
