// lib/report/histogram.ts - a fixed-size log-bucket latency histogram (percentiles within 1%, mergeable).
//
// Phases of a long-running service can see millions of requests; keeping every latency would grow
// without bound, so phase statistics go into geometric buckets (ratio 1.02: a percentile is off by
// at most 1% of its value) from 1 µs to ~17 min, ~1200 counters.

const MIN_MS = 0.001;
const RATIO = 1.02;
const LOG_RATIO = Math.log(RATIO);
const BUCKETS = Math.ceil(Math.log(1e6 / MIN_MS) / LOG_RATIO) + 2;

export interface LatencySummary {
  /** Requests recorded. */
  count: number;
  latencyP50Ms: number | null;
  latencyP90Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  latencyMeanMs: number | null;
}

export class LatencyHistogram {
  #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #sumMs = 0;
  #maxMs = 0;

  record(latencyMs: number): void {
    const v = latencyMs < MIN_MS ? MIN_MS : latencyMs;
    let i = Math.floor(Math.log(v / MIN_MS) / LOG_RATIO);
    if (i >= BUCKETS) i = BUCKETS - 1;
    this.#counts[i]++;
    this.#count++;
    this.#sumMs += latencyMs;
    if (latencyMs > this.#maxMs) this.#maxMs = latencyMs;
  }

  /** Adds another histogram's counts to this one. */
  merge(other: LatencyHistogram): void {
    const oc = other.#counts;
    for (let i = 0; i < BUCKETS; i++) this.#counts[i] += oc[i];
    this.#count += other.#count;
    this.#sumMs += other.#sumMs;
    if (other.#maxMs > this.#maxMs) this.#maxMs = other.#maxMs;
  }

  get count(): number {
    return this.#count;
  }

  /** The q-quantile (0 < q <= 1) in ms: the geometric middle of its bucket, capped at the maximum seen. */
  quantile(q: number): number | null {
    if (this.#count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(MIN_MS * Math.pow(RATIO, i + 0.5), this.#maxMs);
    }
    return this.#maxMs;
  }

  summary(): LatencySummary {
    const empty = this.#count === 0;
    return {
      count: this.#count,
      latencyP50Ms: this.quantile(0.5),
      latencyP90Ms: this.quantile(0.9),
      latencyP99Ms: this.quantile(0.99),
      latencyMaxMs: empty ? null : this.#maxMs,
      latencyMeanMs: empty ? null : this.#sumMs / this.#count,
    };
  }
}
