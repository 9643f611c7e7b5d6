// lib/monitor.ts - startMonitor(): periodic samples of RSS, allocator, V8 heap, request rate/latency and GC pauses.
//
// One Monitor per call. Every intervalMs it reads VmRSS from /proc/self/status, the memctx
// allocator's mapped/resident bytes and top-chunk count (when the addon is loaded), V8's heap and
// external bytes, the requests completed and their latency percentiles (for servers given to
// trackServer), GC pauses seen by perf_hooks, event-loop delay, page faults and CPU use. Samples go
// to 'sample' listeners, to every async iterator, and optionally as JSON Lines to a file (the
// format `memctx report` reads). Latencies and event-loop delays go into perf_hooks' HDR
// histograms (3 significant digits), so percentiles are exact to 0.1% at any request count.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import {
  createHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  type IntervalHistogram,
  type PerformanceEntry,
  type RecordableHistogram,
} from 'node:perf_hooks';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { invalidArgType, MemctxError, outOfRange } from './errors';
import { readProcRss } from './proc';

/** Latencies are recorded in whole microseconds: HDR histograms take integers >= 1. */
const US_PER_MS = 1000;
/** Event-loop delay sampling period of monitorEventLoopDelay, ms. */
const ELD_RESOLUTION_MS = 10;
/**
 * Share of the time between two readings of the allocator's statistics that reading them may
 * take. memoryStats() walks every top chunk with mincore, on the event loop: ~1.6 ms per mapped
 * GiB, which every 100 ms would be a few percent of a service's loop that a process without the
 * addon never pays. Readings are spaced to stay within this share.
 */
const MEMCTX_STATS_SHARE = 0.01;

/** Percentiles of the requests seen over a span; null fields when there were none. */
export interface LatencySummary {
  /** Requests recorded. */
  count: number;
  latencyP50Ms: number | null;
  latencyP90Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  latencyMeanMs: number | null;
}

function summarizeLatency(h: RecordableHistogram): LatencySummary {
  if (h.count === 0) return { count: 0, latencyP50Ms: null, latencyP90Ms: null, latencyP99Ms: null, latencyMaxMs: null, latencyMeanMs: null };
  return {
    count: h.count,
    latencyP50Ms: h.percentile(50) / US_PER_MS,
    latencyP90Ms: h.percentile(90) / US_PER_MS,
    latencyP99Ms: h.percentile(99) / US_PER_MS,
    latencyMaxMs: h.max / US_PER_MS,
    latencyMeanMs: h.mean / US_PER_MS,
  };
}

/** p99 and maximum of an event-loop delay histogram (nanoseconds) in ms; nulls when it saw nothing. */
function loopDelay(h: IntervalHistogram): { p99Ms: number | null; maxMs: number | null } {
  if (h.count === 0) return { p99Ms: null, maxMs: null };
  return { p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 };
}

function pageFaults(): { minor: number; major: number } {
  const u = process.resourceUsage();
  return { minor: u.minorPageFault, major: u.majorPageFault };
}

/** One sample of a process. Byte and time fields carry their unit in the name. */
export interface MonitorSample {
  type: 'sample';
  /** Series name in reports (MonitorOptions.label). */
  label: string;
  pid: number;
  /** Wall-clock time of the sample, ms since the epoch. */
  timeMs: number;
  /** Time since startMonitor, ms. */
  elapsedMs: number;
  /** Time this sample's counters cover, ms (the interval, measured). */
  intervalMs: number;
  /** The phase set by Monitor.mark(), or undefined. */
  phase?: string;
  rssBytes: number;
  /** RSS split from /proc: anonymous memory (heaps, mappings) and file pages (code, mapped files); null off Linux. */
  rssAnonBytes: number | null;
  rssFileBytes: number | null;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /**
   * memctx: bytes mapped for top chunks; null when the allocator is not loaded. This and the
   * next three fields are read as often as keeps their cost within 1% of the time and at least
   * once a second; samples in between repeat the last reading.
   */
  mappedBytes: number | null;
  /** memctx: bytes of top chunks resident in RAM (mincore); null when not loaded. */
  residentBytes: number | null;
  /** memctx: entries in the top-chunk vector; null when not loaded. */
  topChunkCount: number | null;
  /** memctx: live memory contexts; null when not loaded. */
  contextCount: number | null;
  /** Requests finished in this interval (tracked servers and recordRequest()). */
  requests: number;
  /** Responses closed before they finished, in this interval. */
  aborted: number;
  /** Requests of tracked servers in progress at the sample, and the most at once during the interval. */
  inFlight: number;
  inFlightMax: number;
  reqPerSec: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  /** Garbage collections that ended in this interval, their summed and longest pause. */
  gcCount: number;
  gcPauseMs: number;
  gcMaxPauseMs: number;
  /** CPU time (user + system) over the interval, as a percentage of one core. */
  cpuPercent: number;
  /**
   * Event-loop delay over the interval (perf_hooks.monitorEventLoopDelay, 10 ms resolution): how
   * late timers ran, p99 and maximum; null when the interval was too short to measure.
   */
  eventLoopDelayP99Ms: number | null;
  eventLoopDelayMaxMs: number | null;
  /** Page faults of the process in the interval (getrusage): minor ones are first touches of pages. */
  minorFaults: number;
  majorFaults: number;
}

export interface MonitorOptions {
  /** Sampling period in ms, an integer from 10 to 3,600,000. Default 1000. */
  intervalMs?: number;
  /** Append every sample as one JSON line to this file (created if missing). */
  file?: string;
  /** Series name written into every sample. Default `pid <pid>`. */
  label?: string;
  /** Servers whose requests are counted and timed (same as calling trackServer). */
  server?: Server | readonly Server[];
  /**
   * Include the memctx allocator's statistics: true requires the addon, false never loads it,
   * 'auto' (default) includes them when the addon loads.
   */
  memctx?: boolean | 'auto';
}

/** Statistics of the requests seen in one phase (between two Monitor.mark() calls). */
export interface PhaseStats extends LatencySummary {
  phase: string;
  durationMs: number;
  reqPerSec: number;
  gcCount: number;
  gcPauseMs: number;
  /** Event-loop delay over the phase, ms (null when not measured). */
  eventLoopDelayP99Ms: number | null;
  eventLoopDelayMaxMs: number | null;
  /** Minor page faults of the process over the phase. */
  minorFaults: number;
}

/** The events of a Monitor and their listeners' arguments. */
export interface MonitorEvents {
  sample: [sample: MonitorSample];
  /** A failed write to the samples file; without a listener it becomes a process warning. */
  error: [err: Error];
  stop: [];
}

interface AllocatorStatsLike {
  mappedBytes?: number;
  residentBytes?: number;
  topChunks?: readonly unknown[];
  topChunkCount?: number;
  contextCount?: number;
}
type MemoryStatsFn = () => AllocatorStatsLike;


function loadMemoryStats(required: boolean): MemoryStatsFn | null {
  try {
    // Lazy, so that a baseline process never loads the addon and index.ts may re-export us.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const facade = require('./index') as { memoryStats?: MemoryStatsFn };
    if (typeof facade.memoryStats !== 'function') throw new Error('memoryStats is not exported');
    return facade.memoryStats;
  } catch (err) {
    if (required) {
      throw new MemctxError(`startMonitor: memctx: true needs the memctx addon, which failed to load: ${(err as Error).message}`, 'ERR_MEMCTX_ADDON_NOT_FOUND');
    }
    return null;
  }
}

type Waiter = (r: IteratorResult<MonitorSample>) => void;

// Typed events: on('sample', (s) => ...) gets a MonitorSample (declaration merging with the class).
export interface Monitor {
  on<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  once<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  off<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  addListener<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  prependListener<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  removeListener<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  emit<K extends keyof MonitorEvents>(event: K, ...args: MonitorEvents[K]): boolean;
}

/** Live sampler returned by startMonitor(). Emits 'sample', 'error' (file writes) and 'stop'. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Monitor extends EventEmitter implements AsyncIterable<MonitorSample> {
  readonly intervalMs: number;
  readonly label: string;
  readonly file: string | undefined;
  #timer: NodeJS.Timeout | null;
  #fd: number | null = null;
  #memoryStats: MemoryStatsFn | null;
  /** The last reading of the allocator's figures, and the samples left before the next one. */
  #allocator: { mappedBytes: number | null; residentBytes: number | null; topChunkCount: number | null; contextCount: number | null } | null = null;
  #allocatorSkip = 0;
  #observer: PerformanceObserver | null;
  #startNs: bigint;
  #lastNs: bigint;
  #lastCpu: NodeJS.CpuUsage;
  #latency: RecordableHistogram = createHistogram();
  #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  #phaseLoopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  #lastFaults = pageFaults();
  #phaseStartFaults = this.#lastFaults.minor;
  #requests = 0;
  #aborted = 0;
  #inFlight = 0;
  #inFlightMax = 0;
  #gcCount = 0;
  #gcPauseMs = 0;
  #gcMaxPauseMs = 0;
  #phase: string | undefined;
  #phaseStartNs: bigint;
  #phaseLatency: RecordableHistogram = createHistogram();
  #phaseGcCount = 0;
  #phaseGcPauseMs = 0;
  #phases: PhaseStats[] = [];
  #latest: MonitorSample | null = null;
  #queues = new Set<{ items: MonitorSample[]; waiter: Waiter | null }>();
  #stopped = false;
  #servers = new Map<Server, (req: IncomingMessage, res: ServerResponse) => void>();

  constructor(options: MonitorOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options);
    const intervalMs = options.intervalMs ?? 1000;
    if (typeof intervalMs !== 'number') throw invalidArgType('options.intervalMs', 'of type number', intervalMs);
    if (!Number.isInteger(intervalMs) || intervalMs < 10 || intervalMs > 3_600_000) {
      throw outOfRange('options.intervalMs', 'an integer from 10 to 3600000', intervalMs);
    }
    if (options.file !== undefined && (typeof options.file !== 'string' || options.file.length === 0)) {
      throw invalidArgType('options.file', 'a non-empty string', options.file);
    }
    if (options.label !== undefined && typeof options.label !== 'string') {
      throw invalidArgType('options.label', 'of type string', options.label);
    }
    const memctx = options.memctx ?? 'auto';
    if (memctx !== true && memctx !== false && memctx !== 'auto') {
      throw invalidArgType('options.memctx', "true, false or 'auto'", memctx);
    }
    this.intervalMs = intervalMs;
    this.label = options.label ?? `pid ${process.pid}`;
    this.file = options.file;
    this.#memoryStats = memctx === false ? null : loadMemoryStats(memctx === true);
    // Open now so that an unwritable path fails in the caller, not later in a timer.
    if (this.file !== undefined) this.#fd = fs.openSync(this.file, 'a');

    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as PerformanceEntry[]) {
        this.#gcCount++;
        this.#gcPauseMs += entry.duration;
        if (entry.duration > this.#gcMaxPauseMs) this.#gcMaxPauseMs = entry.duration;
        this.#phaseGcCount++;
        this.#phaseGcPauseMs += entry.duration;
      }
    });
    this.#observer.observe({ entryTypes: ['gc'] });
    this.#loopDelay.enable();
    this.#phaseLoopDelay.enable();

    this.#startNs = process.hrtime.bigint();
    this.#lastNs = this.#startNs;
    this.#phaseStartNs = this.#startNs;
    this.#lastCpu = process.cpuUsage();
    const servers = options.server === undefined ? [] : Array.isArray(options.server) ? options.server : [options.server];
    for (const s of servers as Server[]) this.trackServer(s);
    this.#timer = setInterval(() => this.sampleNow(), intervalMs);
    // A monitor must never keep a process alive on its own.
    this.#timer.unref();
  }

  /** The most recent sample, or null before the first one. */
  get latest(): MonitorSample | null {
    return this.#latest;
  }

  /** Count and time every request of `server` from its 'request' event to the response's 'finish'. */
  trackServer(server: Server): this {
    if (server === null || typeof server !== 'object' || typeof (server as Server).prependListener !== 'function') {
      throw invalidArgType('server', 'an http.Server', server);
    }
    if (this.#servers.has(server)) return this;
    const onRequest = (_req: IncomingMessage, res: ServerResponse): void => {
      const t0 = process.hrtime.bigint();
      let done = false;
      if (++this.#inFlight > this.#inFlightMax) this.#inFlightMax = this.#inFlight;
      res.once('finish', () => {
        done = true;
        this.#inFlight--;
        this.recordRequest(Number(process.hrtime.bigint() - t0) / 1e6);
      });
      res.once('close', () => {
        if (done) return;
        done = true;
        this.#inFlight--;
        this.#aborted++;
      });
    };
    // Prepended so that the clock starts before the application's own handler runs.
    server.prependListener('request', onRequest);
    this.#servers.set(server, onRequest);
    return this;
  }

  /** Record one finished request that took latencyMs (for servers that are not node:http). */
  recordRequest(latencyMs: number): void {
    if (typeof latencyMs !== 'number' || !(latencyMs >= 0) || !Number.isFinite(latencyMs)) {
      throw outOfRange('latencyMs', 'a finite number >= 0', latencyMs);
    }
    this.#requests++;
    const us = Math.max(1, Math.round(latencyMs * US_PER_MS));
    this.#latency.record(us);
    this.#phaseLatency.record(us);
  }

  /**
   * Start a named phase: later samples carry `phase`, and the statistics of the phase that ends
   * here (requests, latency percentiles, GC) are appended to phaseStats().
   */
  mark(phase: string): PhaseStats | null {
    if (typeof phase !== 'string' || phase.length === 0) throw invalidArgType('phase', 'a non-empty string', phase);
    const ended = this.#closePhase();
    this.#phase = phase;
    return ended;
  }

  /** Statistics of every phase closed so far by mark() or stop(), in order. */
  phaseStats(): PhaseStats[] {
    return this.#phases.slice();
  }

  #closePhase(): PhaseStats | null {
    const now = process.hrtime.bigint();
    let ended: PhaseStats | null = null;
    if (this.#phase !== undefined) {
      const durationMs = Number(now - this.#phaseStartNs) / 1e6;
      const summary = summarizeLatency(this.#phaseLatency);
      const eld = loopDelay(this.#phaseLoopDelay);
      ended = {
        phase: this.#phase,
        durationMs,
        ...summary,
        reqPerSec: durationMs > 0 ? (summary.count * 1000) / durationMs : 0,
        gcCount: this.#phaseGcCount,
        gcPauseMs: this.#phaseGcPauseMs,
        eventLoopDelayP99Ms: eld.p99Ms,
        eventLoopDelayMaxMs: eld.maxMs,
        minorFaults: pageFaults().minor - this.#phaseStartFaults,
      };
      this.#phases.push(ended);
    }
    this.#phaseLatency.reset();
    this.#phaseLoopDelay.reset();
    this.#phaseStartFaults = pageFaults().minor;
    this.#phaseStartNs = now;
    this.#phaseGcCount = 0;
    this.#phaseGcPauseMs = 0;
    return ended;
  }

  /** Take a sample now (the timer calls this); resets the per-interval counters. */
  sampleNow(): MonitorSample {
    const nowNs = process.hrtime.bigint();
    const intervalMs = Math.max(Number(nowNs - this.#lastNs) / 1e6, 1e-3);
    this.#lastNs = nowNs;
    const cpu = process.cpuUsage(this.#lastCpu);
    this.#lastCpu = process.cpuUsage();
    const mem = process.memoryUsage();
    if (this.#memoryStats !== null && (this.#allocator === null || this.#allocatorSkip-- <= 0)) {
      const t0 = process.hrtime.bigint();
      const s = this.#memoryStats();
      const costMs = Number(process.hrtime.bigint() - t0) / 1e6;
      this.#allocator = {
        mappedBytes: typeof s.mappedBytes === 'number' ? s.mappedBytes : null,
        residentBytes: typeof s.residentBytes === 'number' ? s.residentBytes : null,
        topChunkCount: typeof s.topChunkCount === 'number' ? s.topChunkCount : Array.isArray(s.topChunks) ? s.topChunks.length : null,
        contextCount: typeof s.contextCount === 'number' ? s.contextCount : null,
      };
      // Whatever a reading costs, the next one comes within a second.
      this.#allocatorSkip = Math.min(Math.ceil(costMs / (MEMCTX_STATS_SHARE * this.intervalMs)) - 1, Math.floor(1000 / this.intervalMs) - 1);
    }
    const { mappedBytes, residentBytes, topChunkCount, contextCount } = this.#allocator ?? { mappedBytes: null, residentBytes: null, topChunkCount: null, contextCount: null };
    const lat = summarizeLatency(this.#latency);
    const eld = loopDelay(this.#loopDelay);
    const faults = pageFaults();
    const sample: MonitorSample = {
      type: 'sample',
      label: this.label,
      pid: process.pid,
      timeMs: Date.now(),
      elapsedMs: Number(nowNs - this.#startNs) / 1e6,
      intervalMs,
      ...(this.#phase !== undefined ? { phase: this.#phase } : {}),
      ...readProcRss(),
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      externalBytes: mem.external,
      arrayBuffersBytes: mem.arrayBuffers,
      mappedBytes,
      residentBytes,
      topChunkCount,
      contextCount,
      requests: this.#requests,
      aborted: this.#aborted,
      inFlight: this.#inFlight,
      inFlightMax: this.#inFlightMax,
      reqPerSec: (this.#requests * 1000) / intervalMs,
      latencyP50Ms: lat.latencyP50Ms,
      latencyP99Ms: lat.latencyP99Ms,
      latencyMaxMs: lat.latencyMaxMs,
      gcCount: this.#gcCount,
      gcPauseMs: this.#gcPauseMs,
      gcMaxPauseMs: this.#gcMaxPauseMs,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / intervalMs) * 100,
      eventLoopDelayP99Ms: eld.p99Ms,
      eventLoopDelayMaxMs: eld.maxMs,
      minorFaults: faults.minor - this.#lastFaults.minor,
      majorFaults: faults.major - this.#lastFaults.major,
    };
    this.#latency.reset();
    this.#loopDelay.reset();
    this.#lastFaults = faults;
    this.#requests = 0;
    this.#aborted = 0;
    this.#inFlightMax = this.#inFlight;
    this.#gcCount = 0;
    this.#gcPauseMs = 0;
    this.#gcMaxPauseMs = 0;
    this.#latest = sample;
    if (this.#fd !== null) {
      try {
        // Synchronous and small (~400 bytes): keeps lines whole and in order even if the process dies.
        fs.writeSync(this.#fd, JSON.stringify(sample) + '\n');
      } catch (err) {
        this.#reportError(err as Error);
      }
    }
    for (const q of this.#queues) {
      if (q.waiter !== null) {
        const w = q.waiter;
        q.waiter = null;
        w({ value: sample, done: false });
      } else {
        q.items.push(sample);
        // A consumer that stopped reading must not grow memory without bound: keep the newest.
        if (q.items.length > 10_000) q.items.shift();
      }
    }
    this.emit('sample', sample);
    return sample;
  }

  #reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(`memctx monitor: ${err.message}`, { code: 'MEMCTX_MONITOR_WRITE' });
  }

  /** Stop sampling, close the file and end every iterator. Safe to call twice. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#closePhase();
    this.#observer?.disconnect();
    this.#observer = null;
    this.#loopDelay.disable();
    this.#phaseLoopDelay.disable();
    for (const [server, fn] of this.#servers) server.removeListener('request', fn);
    this.#servers.clear();
    if (this.#fd !== null) {
      try {
        fs.closeSync(this.#fd);
      } catch (err) {
        this.#reportError(err as Error);
      }
      this.#fd = null;
    }
    for (const q of this.#queues) {
      if (q.waiter !== null) {
        const w = q.waiter;
        q.waiter = null;
        w({ value: undefined, done: true });
      }
    }
    this.emit('stop');
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Samples from now on, until stop() (queued ones are still delivered). */
  [Symbol.asyncIterator](): AsyncIterator<MonitorSample> {
    const q: { items: MonitorSample[]; waiter: Waiter | null } = { items: [], waiter: null };
    this.#queues.add(q);
    const finish = (): IteratorResult<MonitorSample> => {
      this.#queues.delete(q);
      return { value: undefined, done: true };
    };
    return {
      next: (): Promise<IteratorResult<MonitorSample>> => {
        const item = q.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.#stopped) return Promise.resolve(finish());
        return new Promise((resolve) => {
          q.waiter = resolve;
        });
      },
      return: (): Promise<IteratorResult<MonitorSample>> => {
        if (q.waiter !== null) {
          const w = q.waiter;
          q.waiter = null;
          w({ value: undefined, done: true });
        }
        return Promise.resolve(finish());
      },
    };
  }
}

/**
 * Start sampling this process every intervalMs (default 1000). The returned Monitor is an
 * EventEmitter ('sample', 'error', 'stop') and an async iterable of samples; with `file` every
 * sample is appended as one JSON line, the input of `npx memctx report`.
 */
export function startMonitor(options: MonitorOptions = {}): Monitor {
  return new Monitor(options);
}
