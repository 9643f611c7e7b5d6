// demo/src/summary.ts - turns one mode's samples, phases and phase statistics into its summary row.
import type { PhaseStats } from '../../dist/monitor';
import type { PhaseRecord, SummaryRecord, TrimRecord } from '../../dist/report/data';
import type { DemoSample, LoadResult } from './protocol';
import type { ServiceTimeStats } from './servicetime';

const MiB = 1024 * 1024;
/** "Back to pre-ramp" means RSS within this much above the pre-ramp figure. */
export const RECOVERED_WITHIN_BYTES = 8 * MiB;
/** Faults counted after each malloc_trim call. */
const AFTER_TRIM_MS = 1000;

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const v = values.slice().sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export interface ModeRun {
  label: string;
  samples: DemoSample[];
  trims: TrimRecord[];
  phases: PhaseRecord[];
  phaseStats: PhaseStats[];
  serviceTime: ServiceTimeStats[];
  load: LoadResult | null;
  /** The GLIBC_TUNABLES the service ran with (as it saw them), or null. */
  glibcTunables: string | null;
  /** Epoch ms when the client closed its last connection. */
  loadStopMs: number | null;
  verify: boolean;
}

/**
 * Pre-ramp RSS is the median over the last second of warm-up (steady, before the ramp); the
 * after-load figure is the sample nearest to 2 s after the last connection closed; the end
 * figure is the median of the last 0.5 s of idle. Throughput and percentiles are the service's
 * own, over the hold phase (the load at its peak). Recovery runs from the end of hold to the
 * end of idle; the return phase (when a profile has one) is when traffic comes back.
 */
export function summarize(run: ModeRun): SummaryRecord {
  const samples = run.samples;
  const warm = run.phases.find((p) => p.name === 'warmup');
  const preRamp = warm === undefined ? [] : samples.filter((s) => s.timeMs <= warm.endMs && s.timeMs >= warm.endMs - 1000);
  let after2s: number | null = null;
  if (run.loadStopMs !== null) {
    const target = run.loadStopMs + 2000;
    let best: DemoSample | null = null;
    for (const s of samples) {
      if (s.timeMs < target - 50) continue;
      if (best === null || Math.abs(s.timeMs - target) < Math.abs(best.timeMs - target)) best = s;
    }
    // Only a sample within half a second of the target counts (an idle phase shorter than 2 s has none).
    if (best !== null && Math.abs(best.timeMs - target) <= 500) after2s = best.rssBytes;
  }
  // "At the end" is the end of idle (a profile may bring traffic back afterwards).
  const idlePhase = run.phases.find((p) => p.name === 'idle');
  const endOfIdle = idlePhase?.endMs ?? (samples.length > 0 ? samples[samples.length - 1].timeMs : 0);
  const tail = samples.filter((s) => s.timeMs >= endOfIdle - 500 && s.timeMs <= endOfIdle);
  const preRampRss = median(preRamp.map((s) => s.rssBytes));
  const between = (from: number, to: number): DemoSample[] => samples.filter((s) => s.timeMs > from && s.timeMs <= to);
  const sum = (list: DemoSample[], f: (s: DemoSample) => number): number => list.reduce((a, s) => a + f(s), 0);
  // Recovery: from the end of hold (the spike) to the end of idle.
  const holdEnd = run.phases.find((p) => p.name === 'hold')?.endMs ?? null;
  const recovery = holdEnd === null || idlePhase === undefined ? [] : between(holdEnd, idlePhase.endMs);
  const returnPhase = run.phases.find((p) => p.name === 'return');
  let recoveryMs: number | null = null;
  if (preRampRss !== null && run.loadStopMs !== null && idlePhase !== undefined) {
    // The first moment after the load stopped from which RSS stays within the band to the end of idle.
    const after = between(run.loadStopMs - 1, idlePhase.endMs);
    let from: number | null = null;
    for (const s of after) {
      if (s.rssBytes <= preRampRss + RECOVERED_WITHIN_BYTES) from ??= s.timeMs;
      else from = null;
    }
    if (from !== null) recoveryMs = Math.max(0, from - run.loadStopMs);
  }
  const trimFaults = run.trims.map((t) => sum(between(t.timeMs, t.timeMs + AFTER_TRIM_MS), (s) => s.minorFaults));
  const hold = run.phaseStats.find((p) => p.phase === 'hold');
  const loaded = run.phaseStats.filter((p) => p.phase === 'rampup' || p.phase === 'hold' || p.phase === 'rampdown');
  const holdPhase = run.phases.find((p) => p.name === 'hold');
  const holdSamples = holdPhase === undefined ? [] : samples.filter((s) => s.timeMs > holdPhase.startMs && s.timeMs <= holdPhase.endMs);
  const holdMs = holdSamples.reduce((a, s) => a + s.intervalMs, 0);
  const holdCpuMs = holdSamples.reduce((a, s) => a + (s.cpuPercent / 100) * s.intervalMs, 0);
  const holdRequests = holdSamples.reduce((a, s) => a + s.requests, 0);
  const mapped = samples.map((s) => s.mappedBytes).filter((v): v is number => v !== null);
  return {
    type: 'summary',
    label: run.label,
    peakRssBytes: samples.reduce((a, s) => Math.max(a, s.rssBytes), 0),
    preRampRssBytes: preRampRss,
    rssAfterLoad2sBytes: after2s,
    endRssBytes: median(tail.map((s) => s.rssBytes)) ?? 0,
    peakMappedBytes: mapped.length > 0 ? Math.max(...mapped) : null,
    endMappedBytes: tail.length > 0 ? tail[tail.length - 1].mappedBytes : null,
    holdReqPerSec: hold?.reqPerSec ?? null,
    holdP50Ms: hold?.latencyP50Ms ?? null,
    holdP99Ms: hold?.latencyP99Ms ?? null,
    holdServiceP99Ms: run.serviceTime.find((p) => p.phase === 'hold')?.p99Ms ?? null,
    holdCpuPercent: holdMs > 0 ? (holdCpuMs / holdMs) * 100 : null,
    holdCpuUsPerRequest: holdRequests > 0 ? (holdCpuMs * 1000) / holdRequests : null,
    // The worst p99 of the loaded phases: ramps see fewer connections, so hold usually dominates.
    loadP99Ms: loaded.length > 0 ? Math.max(...loaded.map((p) => p.latencyP99Ms ?? 0)) : null,
    requests: samples.reduce((a, s) => a + s.requests, 0),
    gcCount: samples.reduce((a, s) => a + s.gcCount, 0),
    gcPauseMs: samples.reduce((a, s) => a + s.gcPauseMs, 0),
    verified: run.verify && run.load !== null ? run.load.verified : null,
    mismatches: run.verify && run.load !== null ? run.load.mismatches : null,
    errors: run.load !== null ? run.load.errors + run.load.timeouts : null,
    loadStopMs: run.loadStopMs,
    holdLoopDelayP99Ms: hold?.eventLoopDelayP99Ms ?? null,
    holdMinorFaults: hold?.minorFaults ?? null,
    peakRequestBytes: samples.reduce((a, s) => Math.max(a, s.requestBytesMax ?? 0), 0),
    recoveryMs,
    recoveryMinorFaults: recovery.length > 0 ? sum(recovery, (s) => s.minorFaults) : null,
    recoveryGcPauseMs: recovery.length > 0 ? sum(recovery, (s) => s.gcPauseMs) : null,
    recoveryLoopDelayMaxMs: recovery.length > 0 ? Math.max(...recovery.map((s) => s.eventLoopDelayMaxMs ?? 0)) : null,
    returnMinorFaults: returnPhase !== undefined ? sum(between(returnPhase.startMs, returnPhase.endMs), (s) => s.minorFaults) : null,
    trimCount: run.trims.length > 0 ? run.trims.length : null,
    trimPauseMs: run.trims.length > 0 ? run.trims.reduce((a, t) => a + t.durationMs, 0) : null,
    trimMaxPauseMs: run.trims.length > 0 ? Math.max(...run.trims.map((t) => t.durationMs)) : null,
    trimFaultsAfterMedian: median(trimFaults),
  };
}
