// demo/src/load.ts - the load client of npm start (its own process): autocannon through the phases of a profile.
//
// Load is closed-loop (each connection sends its next request when the last one answered), in
// layers: the warm-up layer opens the warm connections, ramp-up adds layers until the peak,
// ramp-down stops them in reverse, trickle keeps a couple of connections, idle sends nothing and
// return reopens the warm layer. Every layer is one autocannon instance. With verify on, every
// response's status, tag and length are checked, and 1 in verifyEvery is compared byte for byte
// with the body its request asked for (autocannon hands bodies over as strings; the bodies are
// ASCII, so that is exact).
import autocannon from 'autocannon';
import { expectedBody, FILE_SEED, ingestPayload, logUniformBytes, prng } from './bodies';
import type { FromLoad, LoadConfig, LoadResult, PhaseName, ToLoad } from './protocol';

function send(msg: FromLoad): void {
  if (process.connected) process.send?.(msg);
}

interface Expect {
  tag: string;
  seed: number;
  sizeBytes: number;
  offset: number;
}

interface RequestContext {
  expect?: Expect;
  /** Compare this response byte for byte (1 request in verifyEvery). */
  deep?: boolean;
}

const result: LoadResult = {
  requests: 0,
  errors: 0,
  timeouts: 0,
  non2xx: 0,
  bytesRead: 0,
  verified: 0,
  shallowChecked: 0,
  mismatches: 0,
  mismatchSamples: [],
};

function noteMismatch(text: string): void {
  result.mismatches++;
  if (result.mismatchSamples.length < 5) result.mismatchSamples.push(text);
}

function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i;
  return n;
}

/** Upload bodies are a few cached bodies (the client's cost is then a copy per request). */
const UPLOAD_BODIES = 8;

function makeRequests(config: LoadConfig): autocannon.Request[] {
  let nextId = 0;
  const mix = config.mix;
  const uploads = Array.from({ length: mix.uploadShare > 0 ? UPLOAD_BODIES : 0 }, (_, i) => {
    const seed = (0x7000 + i) >>> 0;
    return { seed, body: expectedBody(seed, logUniformBytes(prng(seed), mix.uploadMinBytes, mix.uploadMaxBytes)) };
  });
  const setupRequest = (req: autocannon.Request, context: RequestContext): autocannon.Request => {
    const id = nextId++;
    const seed = (config.seed * 0x10000 + id) >>> 0;
    const rand = prng(seed);
    let r = rand();
    context.deep = id % config.verifyEvery === 0;
    if (r < mix.uploadShare) {
      const up = uploads[Math.floor(rand() * uploads.length)];
      const size = logUniformBytes(rand, mix.ingestMinBytes, mix.ingestMaxBytes);
      context.expect = { tag: `upload:${seed}:${size}`, seed, sizeBytes: size, offset: 0 };
      return {
        ...req,
        method: 'POST',
        path: `/upload?body=${up.seed}&seed=${seed}&reply=${size}${context.deep ? '&deep=1' : ''}`,
        headers: { 'content-type': 'application/octet-stream' },
        body: up.body,
      };
    }
    // The rest of the mix: half render, a quarter file, a quarter ingest.
    r = (r - mix.uploadShare) / (1 - mix.uploadShare);
    if (r < 0.5) {
      const size = logUniformBytes(rand, mix.renderMinBytes, mix.renderMaxBytes);
      context.expect = { tag: `render:${seed}:${size}`, seed, sizeBytes: size, offset: 0 };
      return { ...req, method: 'GET', path: `/render?seed=${seed}&size=${size}`, body: undefined, headers: {} };
    }
    if (r < 0.75) {
      const len = Math.min(logUniformBytes(rand, mix.fileMinBytes, mix.fileMaxBytes), config.fileSizeBytes);
      const off = Math.floor(rand() * (config.fileSizeBytes - len));
      context.expect = { tag: `file:${off}:${len}`, seed: FILE_SEED, sizeBytes: len, offset: off };
      return { ...req, method: 'GET', path: `/file?off=${off}&len=${len}`, body: undefined, headers: {} };
    }
    const size = logUniformBytes(rand, mix.ingestMinBytes, mix.ingestMaxBytes);
    context.expect = { tag: `ingest:${seed}:${size}`, seed, sizeBytes: size, offset: 0 };
    return {
      ...req,
      method: 'POST',
      path: '/ingest',
      headers: { 'content-type': 'application/json' },
      body: ingestPayload(seed, size),
    };
  };
  const onResponse = (status: number, body: string, context: RequestContext, headers: Record<string, string | string[]>): void => {
    if (!config.verify) return;
    const expect = context.expect;
    if (expect === undefined) return;
    const tag = headers['x-req'] ?? headers['X-Req'];
    if (status !== 200) {
      noteMismatch(`${expect.tag}: status ${status}: ${body.slice(0, 80)}`);
      return;
    }
    if (tag !== expect.tag) {
      noteMismatch(`asked ${expect.tag}, answer is for ${String(tag)}`);
      return;
    }
    if (body.length !== expect.sizeBytes) {
      noteMismatch(`${expect.tag}: ${body.length} bytes, want ${expect.sizeBytes}`);
      return;
    }
    if (context.deep !== true) {
      result.shallowChecked++;
      return;
    }
    const want = expectedBody(expect.seed, expect.sizeBytes, expect.offset).toString('latin1');
    if (body !== want) {
      const at = firstDifference(body, want);
      noteMismatch(
        `${expect.tag}: body differs at byte ${at} of ${want.length} (got ${body.length} bytes: ` +
          `${JSON.stringify(body.slice(at, at + 24))}, want ${JSON.stringify(want.slice(at, at + 24))})`,
      );
      return;
    }
    result.verified++;
  };
  // Loose typing: @types/autocannon's Request lacks setupRequest/onResponse's context parameter.
  return [{ setupRequest, onResponse } as unknown as autocannon.Request];
}

interface Layer {
  connections: number;
  instance: autocannon.Instance;
  done: Promise<void>;
}

/** Time between two steps of the ramp-up, each opening its share of the connections. */
const RAMP_STEP_MS = 500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function run(config: LoadConfig): Promise<void> {
  const requests = makeRequests(config);
  const totalMs = config.phases.reduce((a, p) => a + p.durationMs, 0);
  const layers: Layer[] = [];
  let connections = 0;

  const open = (n: number): void => {
    if (n <= 0) return;
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${config.port}`,
        connections: n,
        pipelining: 1,
        // Stopped explicitly; the duration is only a backstop.
        duration: Math.ceil(totalMs / 1000) + 60,
        // Seconds; above the slowest backend wait of any profile (1.8 x its mean) plus transfer under load.
        timeout: 60,
        // Checks for stop() every 100 ms, so ramp-down steps land on time.
        sampleInt: 100,
        requests,
      } as autocannon.Options,
      (err, res) => {
        if (err) result.errors++;
        else {
          result.requests += res.requests.total;
          result.errors += res.errors;
          result.timeouts += res.timeouts;
          result.non2xx += res.non2xx;
          result.bytesRead += res.throughput.total;
        }
        resolveDone();
      },
    );
    layers.push({ connections: n, instance, done });
    connections += n;
    send({ type: 'connections', connections, timeMs: Date.now() });
  };
  const closeLast = (): Promise<void> => {
    const layer = layers.pop();
    if (layer === undefined) return Promise.resolve();
    connections -= layer.connections;
    layer.instance.stop();
    send({ type: 'connections', connections, timeMs: Date.now() });
    return layer.done;
  };

  const peak = config.peakConnections;
  const warm = Math.min(peak, config.warmConnections);
  const extra = peak - warm;
  const stopping: Promise<void>[] = [];
  const t0 = Date.now();
  let elapsedPlanMs = 0;

  for (const phase of config.phases) {
    const start = t0 + elapsedPlanMs;
    send({ type: 'phase', name: phase.name as PhaseName, timeMs: Date.now(), connections });
    elapsedPlanMs += phase.durationMs;
    const stepAt = (i: number, n: number): number => start + (phase.durationMs * i) / n;
    if (phase.name === 'warmup') {
      if (layers.length === 0) open(warm);
    } else if (phase.name === 'rampup') {
      if (layers.length === 0) open(warm);
      // New clients arrive over the ramp, a few every RAMP_STEP_MS: opening a large share of the
      // peak at one instant (each connection sending its first request, up to 4 MiB, at once)
      // makes a burst whose tail measures the load client and the scheduler more than a service.
      const steps = Math.max(1, Math.min(extra, Math.round(phase.durationMs / RAMP_STEP_MS)));
      for (let i = 0; i < steps; i++) {
        await sleep(stepAt(i, steps) - Date.now());
        open(Math.floor((extra * (i + 1)) / steps) - Math.floor((extra * i) / steps));
      }
    } else if (phase.name === 'hold') {
      while (connections < peak) open(peak - connections);
    } else if (phase.name === 'rampdown') {
      const n = layers.length;
      for (let i = 0; i < n; i++) {
        await sleep(stepAt(i + 1, n + 1) - Date.now());
        stopping.push(closeLast());
      }
    } else if (phase.name === 'trickle') {
      while (layers.length > 0) stopping.push(closeLast());
      open(Math.min(peak, config.trickleConnections));
    } else if (phase.name === 'idle') {
      while (layers.length > 0) stopping.push(closeLast());
    } else if (phase.name === 'return') {
      while (layers.length > 0) stopping.push(closeLast());
      open(warm);
    }
    await sleep(t0 + elapsedPlanMs - Date.now());
  }
  while (layers.length > 0) stopping.push(closeLast());
  await Promise.all(stopping);
  send({ type: 'done', result });
}

process.on('message', (msg: ToLoad) => {
  if (msg.type !== 'start') return;
  run(msg.config).then(
    () => setTimeout(() => process.exit(0), 20),
    (err: Error) => {
      send({ type: 'fatal', message: err.stack ?? err.message });
      process.exit(1);
    },
  );
});
process.on('disconnect', () => process.exit(0));
