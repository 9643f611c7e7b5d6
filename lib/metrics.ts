// lib/metrics.ts - optional Prometheus metrics of the memctx allocator through prom-client (a peer dependency, loaded only when asked for).
//
// registerMetrics() adds gauges (levels) and counters (the *_total figures, which only grow) to a
// prom-client registry (the default one unless given); each reads memoryStats() when Prometheus
// scrapes, so there is no timer and no cost between scrapes. prom-client is not a dependency of
// memctx: without it, registerMetrics throws a MemctxError with code
// ERR_MEMCTX_PROM_CLIENT_MISSING that says how to install it.
import { MemctxError } from './errors';

/** The part of a prom-client Registry that registerMetrics uses (so memctx's types need no prom-client). */
export interface PromRegistryLike {
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

export interface MetricsOptions {
  /** prom-client Registry to register with; default prom-client's global registry. */
  register?: PromRegistryLike;
  /** Prefix of every metric name; default "memctx_". */
  prefix?: string;
}

export interface MemctxMetrics {
  /** Names of the registered metrics. */
  readonly names: readonly string[];
  /** Removes the metrics from the registry again. */
  unregister(): void;
}

interface GaugeLike {
  set(value: number): void;
}
interface CounterLike {
  inc(value: number): void;
}
interface MetricConfig<T> {
  name: string;
  help: string;
  registers?: PromRegistryLike[];
  collect?: (this: T) => void;
}
interface PromClientLike {
  register: PromRegistryLike;
  Gauge: new (config: MetricConfig<GaugeLike>) => GaugeLike;
  Counter: new (config: MetricConfig<CounterLike>) => CounterLike;
}

type StatsRecord = Record<string, unknown>;

/**
 * Every metric: suffix, help text, and the memoryStats() field it reports. Suffixes ending in
 * _total are cumulative and become counters; the others are gauges.
 */
const METRICS: readonly [string, string, string][] = [
  ['mapped_bytes', 'Bytes currently mapped from the OS for memctx top chunks', 'mappedBytes'],
  ['resident_bytes', 'Bytes of memctx top chunks resident in RAM (mincore)', 'residentBytes'],
  ['peak_mapped_bytes', 'Highest mapped bytes reached', 'peakMappedBytes'],
  ['chunk_bytes', 'Bytes of top chunks handed out to contexts as process chunks', 'chunkBytes'],
  ['retained_bytes', 'Bytes of wholly free top chunks kept mapped for reuse', 'retainedBytes'],
  ['top_chunks', 'Top chunks in the top-chunk vector', 'topChunkCount'],
  ['contexts', 'Live memory contexts', 'contextCount'],
  ['process_rss_bytes', 'Process resident set size (VmRSS)', 'rssBytes'],
  ['released_bytes_total', 'Bytes given back to the OS since start', 'releasedBytes'],
  ['mmap_calls_total', 'mmap calls made by memctx', 'mmapCalls'],
  ['munmap_calls_total', 'munmap calls made by memctx', 'munmapCalls'],
  ['madvise_calls_total', 'madvise(MADV_DONTNEED) calls made by memctx', 'madviseCalls'],
];

function loadPromClient(): PromClientLike {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('prom-client') as PromClientLike;
  } catch (cause) {
    const err = new MemctxError(
      'registerMetrics needs the optional peer dependency prom-client, which is not installed: run `npm install prom-client`',
      'ERR_MEMCTX_PROM_CLIENT_MISSING',
    );
    (err as Error & { cause?: unknown }).cause = cause;
    throw err;
  }
}

function argTypeError(name: string, expected: string, actual: unknown): TypeError {
  const err = new TypeError(`The "${name}" argument must be ${expected}. Received ${typeof actual === 'string' ? JSON.stringify(actual) : String(actual)}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

/**
 * Registers memctx gauges (mapped, resident, top chunks, contexts, RSS) and counters (released
 * bytes, mmap/munmap/madvise calls) with prom-client. Values are read from memoryStats() at
 * scrape time.
 */
export function registerMetrics(options: MetricsOptions = {}): MemctxMetrics {
  if (options === null || typeof options !== 'object') throw argTypeError('options', 'an object', options);
  const prefix = options.prefix ?? 'memctx_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw argTypeError('options.prefix', 'a Prometheus name prefix matching [a-zA-Z_:][a-zA-Z0-9_:]*', prefix);
  }
  if (options.register !== undefined && (options.register === null || typeof options.register.getSingleMetric !== 'function')) {
    throw argTypeError('options.register', 'a prom-client Registry', options.register);
  }
  const prom = loadPromClient();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { memoryStats } = require('./index') as { memoryStats: () => unknown };
  const register = options.register ?? prom.register;
  // One memoryStats() call serves every gauge of one scrape (they are collected back to back).
  let cached: { atMs: number; stats: StatsRecord } | null = null;
  const read = (): StatsRecord => {
    const now = Date.now();
    if (cached === null || now - cached.atMs > 50) cached = { atMs: now, stats: memoryStats() as StatsRecord };
    return cached.stats;
  };
  const names: string[] = [];
  for (const [suffix, help, field] of METRICS) {
    const name = prefix + suffix;
    if (register.getSingleMetric(name) !== undefined) {
      for (const n of names) register.removeSingleMetric(n);
      throw new MemctxError(
        `registerMetrics: a metric named ${name} is already registered (call unregister() first, or pass another prefix)`,
        'ERR_MEMCTX_METRIC_EXISTS',
      );
    }
    if (suffix.endsWith('_total')) {
      // A counter only goes up: each scrape adds what the C counter grew since the last one.
      let reported = 0;
      new prom.Counter({
        name,
        help,
        registers: [register],
        collect(this: CounterLike) {
          const v = read()[field];
          if (typeof v === 'number' && v > reported) {
            this.inc(v - reported);
            reported = v;
          }
        },
      });
    } else {
      new prom.Gauge({
        name,
        help,
        registers: [register],
        collect(this: GaugeLike) {
          const v = read()[field];
          if (typeof v === 'number') this.set(v);
        },
      });
    }
    names.push(name);
  }
  return {
    names,
    unregister: () => {
      for (const n of names) register.removeSingleMetric(n);
    },
  };
}
