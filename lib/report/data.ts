// lib/report/data.ts - the records of a samples file (JSON Lines): parsing, grouping into series, and CSV.
//
// A samples file holds one JSON object per line. Lines written by startMonitor({ file }) are
// samples ({"type":"sample", ...}); npm start adds a "meta" line, "phase" lines (one per phase and
// mode), "trim" lines (one per malloc_trim call of the trim mode) and "summary" lines (one per
// mode). Unknown types are ignored so that newer writers stay
// readable; lines that are not JSON are an error naming the line.
import * as fs from 'node:fs';
import { MemctxError } from '../errors';
import type { MonitorSample } from '../monitor';

export interface MetaRecord {
  type: 'meta';
  title?: string;
  command?: string;
  startedAt?: string;
  node?: string;
  cpus?: number;
  /** Per series, the GLIBC_TUNABLES its process ran with (null: none). */
  glibcTunables?: Record<string, string | null>;
  [key: string]: unknown;
}

export interface PhaseRecord {
  type: 'phase';
  /** Series the phase belongs to. */
  label: string;
  name: string;
  /** Epoch ms. */
  startMs: number;
  endMs: number;
}

/** One glibc malloc_trim(0) call of a series (the demo's trim mode): when, how long it paused. */
export interface TrimRecord {
  type: 'trim';
  label: string;
  /** Epoch ms at which the call returned. */
  timeMs: number;
  durationMs: number;
  /** Whether glibc gave memory back to the OS. */
  released: boolean;
}

/** One row of the summary table, per series. Fields are null where the run did not measure them. */
export interface SummaryRecord {
  type: 'summary';
  label: string;
  peakRssBytes: number;
  preRampRssBytes: number | null;
  rssAfterLoad2sBytes: number | null;
  endRssBytes: number;
  peakMappedBytes: number | null;
  endMappedBytes: number | null;
  holdReqPerSec: number | null;
  holdP50Ms: number | null;
  holdP99Ms: number | null;
  /**
   * p99 over the hold phase of the time the service itself took per request: its latency minus
   * the simulated backend wait it was given (the demo's services; absent elsewhere).
   */
  holdServiceP99Ms?: number | null;
  /** Service CPU over the hold phase: mean percentage of one core, and CPU time per request. */
  holdCpuPercent: number | null;
  holdCpuUsPerRequest: number | null;
  loadP99Ms: number | null;
  requests: number;
  gcCount: number;
  gcPauseMs: number;
  verified: number | null;
  mismatches: number | null;
  errors: number | null;
  /** Epoch ms at which the load client had closed its last connection. */
  loadStopMs: number | null;
  /** Event-loop delay over the hold phase, p99 ms, and minor page faults over it. */
  holdLoopDelayP99Ms?: number | null;
  holdMinorFaults?: number | null;
  /** The most request memory in flight (bytes the handlers held) in any sample. */
  peakRequestBytes?: number | null;
  /** Ms from the last connection closing until RSS stayed within 8 MiB of pre-ramp RSS; null if it never did. */
  recoveryMs?: number | null;
  /** Recovery (from the end of hold to the end of idle): minor page faults, GC pause and worst event-loop delay. */
  recoveryMinorFaults?: number | null;
  recoveryGcPauseMs?: number | null;
  recoveryLoopDelayMaxMs?: number | null;
  /** Minor page faults while traffic returned (the return phase). */
  returnMinorFaults?: number | null;
  /** malloc_trim calls (trim mode): count, summed and longest pause, median minor faults in the second after each. */
  trimCount?: number | null;
  trimPauseMs?: number | null;
  trimMaxPauseMs?: number | null;
  trimFaultsAfterMedian?: number | null;
}

export type SamplesRecord = MonitorSample | PhaseRecord | SummaryRecord | MetaRecord | TrimRecord;

export interface ReportData {
  meta: MetaRecord | null;
  samples: MonitorSample[];
  phases: PhaseRecord[];
  summaries: SummaryRecord[];
  /** malloc_trim calls, if the run had a trim mode (absent in files written by startMonitor). */
  trims?: TrimRecord[];
}

/** A samples file that cannot be read as one: MemctxError ERR_MEMCTX_SAMPLES_FILE naming file and line. */
export class SamplesFileError extends MemctxError {
  constructor(message: string) {
    super(message, 'ERR_MEMCTX_SAMPLES_FILE');
  }
}

/** Parses JSON Lines text into report data. `source` names the file in error messages. */
export function parseSamples(text: string, source = 'samples'): ReportData {
  const data: ReportData = { meta: null, samples: [], phases: [], summaries: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length === 0) continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      // A process killed mid-write leaves a torn last line: tolerate it, but only there.
      if (lines.slice(i + 1).every((l) => l.trim().length === 0)) break;
      throw new SamplesFileError(`${source}:${i + 1}: not a JSON line: ${line.slice(0, 60)}`);
    }
    if (rec === null || typeof rec !== 'object') {
      throw new SamplesFileError(`${source}:${i + 1}: expected a JSON object, got ${line.slice(0, 60)}`);
    }
    const r = rec as { type?: unknown };
    if (r.type === 'meta') data.meta = rec as MetaRecord;
    else if (r.type === 'phase') data.phases.push(rec as PhaseRecord);
    else if (r.type === 'summary') data.summaries.push(rec as SummaryRecord);
    else if (r.type === 'trim') (data.trims ??= []).push(rec as TrimRecord);
    else if (r.type === 'sample' || (r.type === undefined && 'rssBytes' in r)) {
      const s = rec as MonitorSample;
      if (typeof s.timeMs !== 'number' || typeof s.rssBytes !== 'number') {
        throw new SamplesFileError(`${source}:${i + 1}: a sample needs numeric timeMs and rssBytes`);
      }
      data.samples.push({ ...s, type: 'sample', label: typeof s.label === 'string' ? s.label : `pid ${s.pid}` });
    }
  }
  if (data.samples.length === 0) throw new SamplesFileError(`${source}: no samples found`);
  return data;
}

export function readSamplesFile(file: string): ReportData {
  return parseSamples(fs.readFileSync(file, 'utf8'), file);
}

export function toJsonLines(data: ReportData): string {
  const out: string[] = [];
  if (data.meta !== null) out.push(JSON.stringify(data.meta));
  for (const p of data.phases) out.push(JSON.stringify(p));
  for (const s of data.samples) out.push(JSON.stringify(s));
  for (const t of data.trims ?? []) out.push(JSON.stringify(t));
  for (const s of data.summaries) out.push(JSON.stringify(s));
  return out.join('\n') + '\n';
}

/** Series labels in order of first appearance. */
export function labelsOf(data: ReportData): string[] {
  const seen: string[] = [];
  for (const s of data.samples) if (!seen.includes(s.label)) seen.push(s.label);
  return seen;
}

/** Time zero of a series: its first phase's start, else its first sample. */
export function originOf(data: ReportData, label: string): number {
  const phases = data.phases.filter((p) => p.label === label);
  if (phases.length > 0) return Math.min(...phases.map((p) => p.startMs));
  let t = Infinity;
  for (const s of data.samples) if (s.label === label && s.timeMs < t) t = s.timeMs;
  return t;
}

export const CSV_COLUMNS = [
  'label', 'phase', 'tSec', 'timeMs', 'pid', 'intervalMs',
  'rssBytes', 'rssAnonBytes', 'rssFileBytes', 'mappedBytes', 'residentBytes', 'topChunkCount', 'contextCount',
  'heapUsedBytes', 'heapTotalBytes', 'externalBytes', 'arrayBuffersBytes',
  'requests', 'aborted', 'inFlight', 'inFlightMax', 'reqPerSec', 'latencyP50Ms', 'latencyP99Ms', 'latencyMaxMs',
  'gcCount', 'gcPauseMs', 'gcMaxPauseMs', 'cpuPercent',
  'eventLoopDelayP99Ms', 'eventLoopDelayMaxMs', 'minorFaults', 'majorFaults', 'requestBytes', 'requestBytesMax',
] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3);
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The samples as CSV, one row per sample, tSec relative to the series' origin. */
export function toCsv(data: ReportData): string {
  const origins = new Map(labelsOf(data).map((l) => [l, originOf(data, l)]));
  const rows = [CSV_COLUMNS.join(',')];
  for (const s of data.samples) {
    const rec = { ...s, tSec: (s.timeMs - (origins.get(s.label) ?? s.timeMs)) / 1000 } as Record<string, unknown>;
    rows.push(CSV_COLUMNS.map((c) => csvCell(rec[c])).join(','));
  }
  return rows.join('\n') + '\n';
}
