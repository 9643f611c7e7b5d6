// test/main/monitor.test.ts - startMonitor: argument checks, samples by event, iterator and JSON Lines file, request timing, phases.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { startMonitor, type MonitorSample } from '../../lib/monitor';
import { readProcRss } from '../../lib/proc';
import { parseSamples } from '../../lib/report/data';
import { DIST, ensureBuilt, ROOT, tmpDir } from './helpers';

function get(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('startMonitor', () => {
  test('rejects bad options with a code and a message naming the argument', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ intervalMs: 5 }, 'ERR_OUT_OF_RANGE', /"options\.intervalMs".*from 10 to 3600000.*Received 5/],
      [{ intervalMs: 1.5e7 }, 'ERR_OUT_OF_RANGE', /options\.intervalMs/],
      [{ intervalMs: 100.5 }, 'ERR_OUT_OF_RANGE', /Received 100\.5/],
      [{ intervalMs: NaN }, 'ERR_OUT_OF_RANGE', /Received NaN/],
      [{ intervalMs: '100' }, 'ERR_INVALID_ARG_TYPE', /of type number.*Received type string \("100"\)/],
      [{ file: '' }, 'ERR_INVALID_ARG_TYPE', /options\.file/],
      [{ label: 7 }, 'ERR_INVALID_ARG_TYPE', /options\.label/],
      [{ memctx: 'yes' }, 'ERR_INVALID_ARG_TYPE', /options\.memctx/],
      [{ server: {} }, 'ERR_INVALID_ARG_TYPE', /"server".*http\.Server/],
      [null, 'ERR_INVALID_ARG_TYPE', /"options"/],
    ];
    for (const [options, code, message] of cases) {
      let caught: unknown = null;
      try {
        startMonitor(options as never).stop();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(Error);
      expect((caught as { code?: string }).code).toBe(code);
      expect((caught as Error).message).toMatch(message);
    }
  });

  test('an unwritable file fails in the caller with the fs error', () => {
    expect(() => startMonitor({ file: path.join(ROOT, 'package.json', 'x.jsonl') })).toThrow(/ENOTDIR/);
  });

  test('samples arrive as events and through the async iterator, with RSS from /proc', async () => {
    const monitor = startMonitor({ intervalMs: 20, label: 'unit', memctx: false });
    const seen: MonitorSample[] = [];
    monitor.on('sample', (s: MonitorSample) => seen.push(s));
    const iterated: MonitorSample[] = [];
    for await (const s of monitor) {
      iterated.push(s);
      if (iterated.length === 3) break;
    }
    monitor.stop();
    expect(iterated).toHaveLength(3);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(iterated.map((s) => s.timeMs)).toEqual(seen.slice(0, 3).map((s) => s.timeMs));
    const s = iterated[2];
    expect(s.type).toBe('sample');
    expect(s.label).toBe('unit');
    expect(s.pid).toBe(process.pid);
    expect(s.mappedBytes).toBeNull();
    const rss = readProcRss();
    // The sample's RSS is this process's VmRSS, a few ms earlier.
    expect(Math.abs(s.rssBytes - rss.rssBytes) / rss.rssBytes).toBeLessThan(0.2);
    if (fs.existsSync('/proc/self/status')) {
      expect((s.rssAnonBytes ?? 0) + (s.rssFileBytes ?? 0)).toBeLessThanOrEqual(s.rssBytes);
      expect(s.rssAnonBytes).toBeGreaterThan(0);
    }
    expect(s.heapUsedBytes).toBeGreaterThan(0);
    expect(s.intervalMs).toBeGreaterThan(5);
  });

  test('an iterator ends when the monitor stops, and stop() is safe twice', async () => {
    const monitor = startMonitor({ intervalMs: 10_000, memctx: false });
    const it = monitor[Symbol.asyncIterator]();
    const pending = it.next();
    monitor.stop();
    monitor.stop();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    await expect(it.next()).resolves.toEqual({ value: undefined, done: true });
    expect(monitor.stopped).toBe(true);
  });

  test('appends every sample as one JSON line that memctx report can read', async () => {
    const dir = tmpDir('memctx-monitor-');
    const file = path.join(dir, 'samples.jsonl');
    fs.writeFileSync(file, '');
    const monitor = startMonitor({ intervalMs: 15, file, label: 'svc', memctx: false });
    let n = 0;
    await new Promise<void>((resolve) => monitor.on('sample', () => ++n === 4 && resolve()));
    monitor.stop();
    const data = parseSamples(fs.readFileSync(file, 'utf8'), file);
    expect(data.samples.length).toBe(n);
    expect(new Set(data.samples.map((s) => s.label))).toEqual(new Set(['svc']));
    // Append, not truncate: a second monitor adds to the same file.
    const again = startMonitor({ intervalMs: 15, file, label: 'svc2', memctx: false });
    again.sampleNow();
    again.stop();
    expect(parseSamples(fs.readFileSync(file, 'utf8')).samples.length).toBe(n + 1);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('counts and times the requests of a tracked server, per sample and per phase', async () => {
    const server = http.createServer((req, res) => {
      const delayMs = req.url === '/slow' ? 30 : 0;
      setTimeout(() => res.end('ok'), delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const monitor = startMonitor({ intervalMs: 60_000, server, memctx: false });
    monitor.mark('fast');
    for (let i = 0; i < 20; i++) await get(port, '/fast');
    const fastSample = monitor.sampleNow();
    monitor.mark('slow');
    for (let i = 0; i < 5; i++) await get(port, '/slow');
    const slowSample = monitor.sampleNow();
    monitor.stop();
    server.close();
    expect(fastSample.requests).toBe(20);
    expect(fastSample.phase).toBe('fast');
    expect(slowSample.requests).toBe(5);
    expect(slowSample.phase).toBe('slow');
    expect(slowSample.latencyP50Ms).toBeGreaterThanOrEqual(25);
    // Only lower bounds on time: a loaded machine can make any request slow.
    expect(fastSample.latencyP50Ms as number).toBeLessThanOrEqual(fastSample.latencyP99Ms as number);
    const phases = monitor.phaseStats();
    expect(phases.map((p) => [p.phase, p.count])).toEqual([
      ['fast', 20],
      ['slow', 5],
    ]);
    expect(phases[1].latencyP50Ms).toBeGreaterThanOrEqual(25);
    expect(phases[1].latencyMaxMs).toBeGreaterThanOrEqual(phases[1].latencyP99Ms as number);
  });

  test('percentiles come from an HDR histogram: within 0.1% of the exact order statistic', () => {
    const monitor = startMonitor({ intervalMs: 60_000, memctx: false });
    monitor.mark('spread');
    // 2000 latencies from 0.5 ms to ~2.5 s, in a scrambled order.
    const values = Array.from({ length: 2000 }, (_, i) => 0.5 * Math.pow(1.00426, (i * 7919) % 2000));
    for (const v of values) monitor.recordRequest(v);
    const sample = monitor.sampleNow();
    monitor.stop();
    const sorted = values.slice().sort((a, b) => a - b);
    const exact = (q: number): number => sorted[Math.ceil(q * sorted.length) - 1];
    const [phase] = monitor.phaseStats();
    for (const [got, q] of [[phase.latencyP50Ms, 0.5], [phase.latencyP90Ms, 0.9], [phase.latencyP99Ms, 0.99], [sample.latencyP99Ms, 0.99]] as const) {
      expect(Math.abs((got as number) - exact(q)) / exact(q)).toBeLessThan(0.001);
    }
    expect(Math.abs((phase.latencyMaxMs as number) - sorted[sorted.length - 1]) / sorted[sorted.length - 1]).toBeLessThan(0.001);
  });

  test('samples and phases carry event-loop delay and page faults', async () => {
    const faultsBefore = process.resourceUsage().minorPageFault;
    const monitor = startMonitor({ intervalMs: 60_000, memctx: false });
    monitor.mark('blocked');
    await new Promise((r) => setTimeout(r, 50));
    const until = Date.now() + 120;
    while (Date.now() < until) {
      // a synchronous stretch: timers cannot run, so the loop-delay monitor sees it late
    }
    await new Promise((r) => setTimeout(r, 30));
    // 64 MiB is above the largest mmap threshold glibc ever sets (32 MiB), so these are fresh
    // pages whatever the heap already holds: each first touch faults, at least once per 2 MiB
    // even where transparent huge pages back them.
    const fresh = Buffer.allocUnsafeSlow(64 * 1024 * 1024).fill(1);
    const sample = monitor.sampleNow();
    monitor.mark('after');
    monitor.stop();
    const faultsAfter = process.resourceUsage().minorPageFault;
    expect(fresh[0]).toBe(1);
    expect(sample.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(80);
    expect(sample.eventLoopDelayP99Ms).toBeGreaterThan(0);
    expect(sample.minorFaults).toBeGreaterThanOrEqual(32);
    expect(sample.minorFaults).toBeLessThanOrEqual(faultsAfter - faultsBefore);
    expect(sample.majorFaults).toBeGreaterThanOrEqual(0);
    const [phase] = monitor.phaseStats();
    expect(phase.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(80);
    expect(phase.minorFaults).toBeGreaterThanOrEqual(32);
    expect(phase.minorFaults).toBeLessThanOrEqual(faultsAfter - faultsBefore);
  });

  test("the 'sample' event is typed", () => {
    const monitor = startMonitor({ intervalMs: 60_000, memctx: false });
    const rss: number[] = [];
    monitor.on('sample', (s) => rss.push(s.rssBytes));
    // @ts-expect-error a listener of 'sample' receives a MonitorSample, not a string
    monitor.on('sample', (s: string) => s.length);
    monitor.removeAllListeners('sample');
    monitor.on('sample', (s) => rss.push(s.rssBytes));
    monitor.sampleNow();
    monitor.stop();
    expect(rss).toHaveLength(1);
    expect(rss[0]).toBeGreaterThan(0);
  });

  test('recordRequest checks its argument', () => {
    const monitor = startMonitor({ memctx: false });
    expect(() => monitor.recordRequest(-1)).toThrow(RangeError);
    expect(() => monitor.recordRequest(Infinity)).toThrow(/finite number/);
    monitor.recordRequest(3);
    expect(monitor.sampleNow().requests).toBe(1);
    monitor.stop();
  });

  test('sees garbage collections through perf_hooks', async () => {
    const monitor = startMonitor({ intervalMs: 60_000, memctx: false });
    let keep: unknown[] = [];
    for (let i = 0; i < 200_000; i++) keep.push({ i, s: 'x'.repeat(i % 50) });
    keep = [];
    await new Promise((r) => setTimeout(r, 20));
    const s = monitor.sampleNow();
    monitor.stop();
    expect(keep.length).toBe(0);
    expect(s.gcCount).toBeGreaterThan(0);
    expect(s.gcPauseMs).toBeGreaterThan(0);
  });

  test("memctx's figures are read at the first sample, and at every sample when the interval is a second or more", () => {
    ensureBuilt();
    const r = spawnSync(process.execPath, ['-e', `
      const m = require(${JSON.stringify(path.join(DIST, 'index.js'))});
      const monitor = m.startMonitor({ intervalMs: 60000, memctx: true });
      const before = monitor.sampleNow();
      const ctx = new m.MemoryContext();
      ctx.allocUnsafe(8 * 1024 * 1024).fill(1);
      const after = monitor.sampleNow();
      ctx.delete();
      monitor.stop();
      console.log(JSON.stringify([before.mappedBytes, after.mappedBytes, after.residentBytes]));
    `], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(0);
    const [before, after, resident] = JSON.parse(r.stdout) as number[];
    expect(after).toBeGreaterThanOrEqual(before + 8 * 1024 * 1024);
    expect(resident).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  });

  test('never keeps a process alive on its own (the compiled module, in a child)', () => {
    ensureBuilt();
    // The child exits by itself once its only other timer has fired; a ref'd monitor would hang it.
    const r = spawnSync(process.execPath, ['-e', `
      const { startMonitor } = require(${JSON.stringify(path.join(DIST, 'monitor.js'))});
      const m = startMonitor({ intervalMs: 50, memctx: false });
      m.on('sample', () => {});
      setTimeout(() => console.log('alive'), 120);
    `], { encoding: 'utf8', timeout: 10_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('alive');
  });
});
