// lib/runtime.ts - per-load facade state: the default release mode, the unref'd maintenance
// timer (parked trees; the C release pass when the core's background thread is not running), and
// the event counters memoryStats() reports.
import { native } from './native';
import { traceActivity } from './trace';

type Mode = 'detach' | 'reserve';

let defaultMode: Mode = 'detach';
let intervalMs = 0; // 0: derived from decayMs
let timer: NodeJS.Timeout | null = null;
let createdContexts = 0;
let backstopDeleted = 0;
let maintainRuns = 0;
let releasedByTimerBytes = 0;

export function getDefaultReleaseMode(): Mode {
  return defaultMode;
}

export function setDefaultReleaseMode(mode: Mode): void {
  defaultMode = mode;
}

/** The timer period: a quarter of decayMs, between 10 ms and 1 s, unless set by configure(). */
export function maintenanceIntervalMs(): number {
  if (intervalMs > 0) return intervalMs;
  const decayMs = native.getConfig().decayMs;
  return Math.min(1000, Math.max(10, Math.floor(decayMs / 4)));
}

export function setMaintenanceIntervalMs(ms: number): void {
  intervalMs = ms;
  if (timer !== null) {
    clearInterval(timer);
    timer = null;
    ensureMaintenance();
  }
}

function tick(): void {
  maintainRuns++;
  releasedByTimerBytes += native.maintain();
  traceActivity('timer');
}

/**
 * Start the maintenance timer once per thread. It is unref'd: it never keeps the process (or a
 * worker) alive, and it runs whether or not anything allocates, so parked trees go while idle.
 */
export function ensureMaintenance(): void {
  if (timer !== null) return;
  timer = setInterval(tick, maintenanceIntervalMs());
  timer.unref();
}

/** Restart the timer with the period that follows a new decayMs. */
export function restartMaintenance(): void {
  if (timer === null) return;
  clearInterval(timer);
  timer = null;
  ensureMaintenance();
}

export function noteContextCreated(): void {
  createdContexts++;
}

export function noteBackstop(): void {
  backstopDeleted++;
}

export interface FacadeCounters {
  /** Live contexts of this load of the facade (counted by the binding, which owns liveness). */
  liveContexts: number;
  createdContexts: number;
  backstopDeletedContexts: number;
  timerMaintainRuns: number;
  timerReleasedBytes: number;
  maintenanceIntervalMs: number;
  releaseMode: Mode;
}

export function facadeCounters(liveContexts: number): FacadeCounters {
  return {
    liveContexts,
    createdContexts,
    backstopDeletedContexts: backstopDeleted,
    timerMaintainRuns: maintainRuns,
    timerReleasedBytes: releasedByTimerBytes,
    maintenanceIntervalMs: timer === null ? 0 : maintenanceIntervalMs(),
    releaseMode: defaultMode,
  };
}
