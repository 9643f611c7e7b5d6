// lib/report/table.ts - the summary as a few narrow tables (memory, load, recovery) for the terminal (100 columns) and the HTML report.
import type { SummaryRecord } from './data';

const MiB = 1024 * 1024;

export function mib(bytes: number | null | undefined, digits = 1): string {
  return bytes === null || bytes === undefined ? 'n/a' : `${(bytes / MiB).toFixed(digits)} MiB`;
}

function num(v: number | null | undefined, digits: number, unit = ''): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(digits)}${unit}`;
}

/**
 * Three significant digits: what perf_hooks' HDR histograms resolve (0.1%), so no digit is
 * printed that the measurement does not carry.
 */
export function sig3(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return `${v.toFixed(digits)}${unit}`;
}

/** MiB without the unit (the table title carries it). */
function m(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? 'n/a' : (bytes / MiB).toFixed(1);
}

function count(v: number | null | undefined): string {
  return v === null || v === undefined ? 'n/a' : String(Math.round(v));
}

export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
}

/**
 * The summary as tables that each fit 100 columns: memory (MiB), the load at its peak (hold),
 * and the recovery after it (when the run measured one).
 */
export function summaryTables(summaries: readonly SummaryRecord[]): Table[] {
  const tables: Table[] = [
    {
      title:
        'Memory, MiB: RSS before the ramp, at its peak, 2 s after the load and at the end of idle; memctx mapped ' +
        'and request memory in flight at the peak; time from the last connection closing until RSS stays within ' +
        '8 MiB of its pre-ramp figure',
      headers: ['mode', 'RSS pre-ramp', 'RSS peak', 'RSS 2 s after', 'RSS end', 'mapped peak', 'in flight peak', 'back ≤8 MiB'],
      rows: summaries.map((s) => [
        s.label,
        m(s.preRampRssBytes),
        m(s.peakRssBytes),
        m(s.rssAfterLoad2sBytes),
        m(s.endRssBytes),
        m(s.peakMappedBytes),
        m(s.peakRequestBytes),
        s.recoveryMs === undefined ? 'n/a' : s.recoveryMs === null ? 'not in idle' : `${(s.recoveryMs / 1000).toFixed(1)} s`,
      ]),
    },
    {
      title:
        'Under load (hold): latency p50/p99, the p99 of the time the service itself took (own p99: ' +
        'latency minus the simulated backend wait) and event-loop delay p99 (loop p99) from perf_hooks ' +
        'histograms, 3 significant digits; service CPU; minor page faults; response bodies checked by ' +
        'the client',
      headers: ['mode', 'req/s', 'p50', 'p99', 'own p99', 'loop p99', 'CPU', 'CPU/req', 'faults', 'checked'],
      rows: summaries.map((s) => [
        s.label,
        num(s.holdReqPerSec, 0),
        sig3(s.holdP50Ms, ' ms'),
        sig3(s.holdP99Ms, ' ms'),
        s.holdServiceP99Ms === null || s.holdServiceP99Ms === undefined ? '-' : sig3(s.holdServiceP99Ms, ' ms'),
        sig3(s.holdLoopDelayP99Ms, ' ms'),
        num(s.holdCpuPercent, 0, '%'),
        sig3(s.holdCpuUsPerRequest, ' µs'),
        count(s.holdMinorFaults),
        s.verified === null ? 'off' : `${s.verified} ok, ${s.mismatches ?? 0} bad`,
      ]),
    },
  ];
  if (summaries.some((s) => s.recoveryMinorFaults !== undefined && s.recoveryMinorFaults !== null)) {
    tables.push({
      title:
        'Recovery, from the end of hold to the end of idle: minor page faults, GC pause, worst event-loop delay; ' +
        'malloc_trim calls (count, summed and longest pause, median faults in the second after one); ' +
        'faults when traffic returns',
      headers: ['mode', 'faults', 'GC pause', 'loop max', 'trims', 'trim sum', 'trim max', 'faults/trim', 'return faults'],
      rows: summaries.map((s) => [
        s.label,
        count(s.recoveryMinorFaults),
        num(s.recoveryGcPauseMs, 0, ' ms'),
        sig3(s.recoveryLoopDelayMaxMs, ' ms'),
        s.trimCount === null || s.trimCount === undefined ? '-' : String(s.trimCount),
        s.trimPauseMs === null || s.trimPauseMs === undefined ? '-' : sig3(s.trimPauseMs, ' ms'),
        s.trimMaxPauseMs === null || s.trimMaxPauseMs === undefined ? '-' : sig3(s.trimMaxPauseMs, ' ms'),
        s.trimFaultsAfterMedian === null || s.trimFaultsAfterMedian === undefined ? '-' : count(s.trimFaultsAfterMedian),
        s.returnMinorFaults === null || s.returnMinorFaults === undefined ? '-' : count(s.returnMinorFaults),
      ]),
    });
  }
  return tables;
}

/**
 * Breaks text at spaces into lines of at most `columns` characters (a longer word stays whole);
 * the first line starts with `first`, the others with `indent`.
 */
export function wrapText(text: string, columns: number, indent = '', first = ''): string[] {
  const lines: string[] = [];
  let current = first;
  for (const word of text.split(' ')) {
    if (word.length === 0) continue;
    const empty = current.length === (lines.length === 0 ? first.length : indent.length);
    if (!empty && current.length + 1 + word.length > columns) {
      lines.push(current);
      current = indent + word;
    } else current = empty ? current + word : `${current} ${word}`;
  }
  if (current.trim().length > 0) lines.push(current);
  return lines;
}

/** Plain-text rendering with aligned columns (numbers right-aligned), the title wrapped to `columns`. */
export function formatTable(table: Table, columns = 100): string {
  const widths = table.headers.map((h, i) => Math.max(h.length, ...table.rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [...wrapText(table.title, columns), line(table.headers), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

/** Every table, a blank line between them. */
export function formatTables(tables: readonly Table[], columns = 100): string {
  return tables.map((t) => formatTable(t, columns)).join('\n\n');
}
