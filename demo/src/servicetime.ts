// demo/src/servicetime.ts - the time each request spends in the demo service beyond its simulated backend wait, per phase.
//
// A request's latency is its backend wait (a timer of 0.2-1.8x backendMs, fixed by the request's
// key, so the same request waits as long in every mode) plus what the service itself took:
// reading the body, building and writing the response, waiting for the event loop. Only that
// second part can differ between allocators. With a backend of seconds, the p99 of the whole
// latency is mostly the p99 of the waits of the requests that happened to finish in the phase,
// so the service also reports this part on its own.
import type * as http from 'node:http';
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';

/** The service's own time over one phase: requests that had a backend wait and finished in it. */
export interface ServiceTimeStats {
  phase: string;
  p99Ms: number | null;
}

const US_PER_MS = 1000;

export class ServiceTime {
  readonly #waitMs = new WeakMap<http.ServerResponse, number>();
  #histogram: RecordableHistogram = createHistogram();
  #phase: string | null = null;
  readonly #phases: ServiceTimeStats[] = [];

  /** Time every request of `server` from its 'request' event to its response's 'finish'. */
  track(server: http.Server): void {
    server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      const startMs = performance.now();
      res.once('finish', () => {
        const waitMs = this.#waitMs.get(res);
        // Error answers never wait on the backend: they are not part of this figure.
        if (waitMs === undefined) return;
        const ownMs = performance.now() - startMs - waitMs;
        this.#histogram.record(Math.max(1, Math.round(ownMs * US_PER_MS)));
      });
    });
  }

  /** The backend wait given to the request answered by `res`, ms. */
  noteWait(res: http.ServerResponse, waitMs: number): void {
    this.#waitMs.set(res, waitMs);
  }

  /** Close the current phase (if any) and start `phase`; null ends the last one. */
  mark(phase: string | null): void {
    if (this.#phase !== null) {
      const h = this.#histogram;
      this.#phases.push({ phase: this.#phase, p99Ms: h.count > 0 ? h.percentile(99) / US_PER_MS : null });
    }
    this.#histogram.reset();
    this.#phase = phase;
  }

  /** Every phase closed so far, in order. */
  phases(): ServiceTimeStats[] {
    return this.#phases.slice();
  }
}
