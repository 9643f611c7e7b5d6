// test/main/demo.test.ts - npm start end to end: both modes through a few-second ramp, the report, flags, dying children.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSamples, type ReportData } from '../../lib/report/data';
import { chromiumArgs, ensureBuilt, findChromium, ROOT, runDemo, tmpDir, type RunResult } from './helpers';

const MiB = 1024 * 1024;
const PEAK = 8;

beforeAll(() => ensureBuilt(), 120_000);

describe('npm start: flags', () => {
  test('--help lists every flag and exits 0', async () => {
    const r = await runDemo(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--peak', '--duration', '--phases', '--modes', '--sequential', '--out', '--interval', '--backend-ms', '--chunk-kib', '--semi-space-mib', '--seed', '--no-idle-gc', '--no-verify', '--plain', '--help']) {
      expect(r.stdout).toContain(flag);
    }
  });

  test('bad flags give one line on stderr and exit code 2, before anything runs', async () => {
    const notADir = path.join(ROOT, 'package.json', 'out');
    const cases: [string[], RegExp][] = [
      [['--bogus'], /Unknown option '--bogus'/],
      [['--peak', '0'], /--peak must be an integer from 1 to 1024, got "0"/],
      [['--peak', 'ten'], /--peak must be an integer.*got "ten"/],
      [['--peak', '2.5'], /--peak must be an integer/],
      [['--duration=-3'], /--duration must be a number from 1 to 3600, got "-3"/],
      [['--duration', '-3'], /Option '--duration' argument is ambiguous/],
      [['--peak'], /Option '--peak <value>' argument missing/],
      [['--interval', '5'], /--interval must be an integer from 10 to 10000/],
      [['--backend-ms', '1e9'], /--backend-ms must be a number from 0 to 1000, got "1e9"/],
      [['--semi-space-mib', '0.5'], /--semi-space-mib must be an integer from 0 to 64/],
      [['--chunk-kib', '5000'], /--chunk-kib must be an integer from 0 to 4096, got "5000"/],
      [['--phases', '1,2'], /--phases needs 5 entries/],
      [['--phases', 'warmup:1,rampup:1,hold:x,rampdown:1,idle:1'], /--phases hold must be a number/],
      [['--phases', 'warmup:1,ramp:1,hold:1,rampdown:1,idle:1'], /--phases entry 2 must be rampup, got "ramp"/],
      [['--modes', 'memctx,fast'], /--modes entries must be memctx or baseline, got "fast"/],
      [['--out', notADir], /cannot write to output folder .*package\.json\/out: ENOTDIR/],
      [['stray'], /Unexpected argument 'stray'/],
    ];
    for (const [args, message] of cases) {
      const r = await runDemo(args, { timeoutMs: 20_000 });
      expect([args, r.code]).toEqual([args, 2]);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
  });
});

function samplesOf(data: ReportData, label: string, phase: string) {
  return data.samples.filter((s) => s.label === label && s.phase === phase);
}

describe('npm start: a few-second run of both modes', () => {
  let dir: string;
  let run: RunResult;
  let data: ReportData;

  beforeAll(async () => {
    dir = tmpDir('memctx-demo-');
    run = await runDemo(['--phases', 'warmup:2,rampup:2,hold:3,rampdown:1,idle:3', '--peak', String(PEAK), '--out', dir], { timeoutMs: 100_000 });
    if (run.code === 0) data = parseSamples(fs.readFileSync(path.join(dir, 'samples.jsonl'), 'utf8'));
  }, 110_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('exits 0, prints the summary and the report path, writes report, JSON Lines and CSV', () => {
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const report = path.join(dir, 'report.html');
    expect(run.stdout).toContain(`report: ${report}`);
    expect(run.stdout).toMatch(/peak RSS\s+RSS 2 s after load/);
    expect(fs.statSync(report).size).toBeGreaterThan(50_000);
    const csv = fs.readFileSync(path.join(dir, 'samples.csv'), 'utf8').trim().split('\n');
    expect(csv.length).toBe(data.samples.length + 1);
  });

  test('samples every ~100 ms in both modes, through the five phases in order', () => {
    for (const label of ['memctx', 'baseline']) {
      const phases = data.phases.filter((p) => p.label === label).map((p) => p.name);
      expect(phases).toEqual(['warmup', 'rampup', 'hold', 'rampdown', 'idle']);
      const samples = data.samples.filter((s) => s.label === label);
      // 11 s planned at 100 ms; allow for a loaded machine.
      expect(samples.length).toBeGreaterThan(70);
      expect(samples.every((s) => s.intervalMs < 1000)).toBe(true);
    }
    const memctx = data.samples.filter((s) => s.label === 'memctx');
    expect(memctx.every((s) => s.mappedBytes !== null && s.residentBytes !== null && s.topChunkCount !== null)).toBe(true);
    expect(data.samples.filter((s) => s.label === 'baseline').every((s) => s.mappedBytes === null)).toBe(true);
  });

  test('the samples show the ramp: concurrency rises to the peak in hold and falls to zero in idle', () => {
    for (const label of ['memctx', 'baseline']) {
      const warm = Math.max(...samplesOf(data, label, 'warmup').map((s) => s.inFlightMax));
      const hold = Math.max(...samplesOf(data, label, 'hold').map((s) => s.inFlightMax));
      const idle = samplesOf(data, label, 'idle').slice(10);
      expect(warm).toBeLessThanOrEqual(2);
      expect(hold).toBeGreaterThanOrEqual(PEAK - 1);
      expect(idle.length).toBeGreaterThan(5);
      expect(idle.every((s) => s.requests === 0 && s.inFlight === 0)).toBe(true);
      const holdReqs = samplesOf(data, label, 'hold').reduce((a, s) => a + s.requests, 0);
      expect(holdReqs).toBeGreaterThan(100);
    }
  });

  test('memctx mode: RSS after the idle phase is back within 16 MiB or 10% of its pre-ramp figure', () => {
    const s = data.summaries.find((x) => x.label === 'memctx');
    expect(s).toBeDefined();
    const pre = s?.preRampRssBytes as number;
    const end = s?.endRssBytes as number;
    expect(pre).toBeGreaterThan(10 * MiB);
    const allowance = Math.max(16 * MiB, 0.1 * pre);
    if (end - pre > allowance) {
      // The message carries the figures that matter to whoever reads a failure.
      throw new Error(`memctx RSS after idle ${(end / MiB).toFixed(1)} MiB vs pre-ramp ${(pre / MiB).toFixed(1)} MiB (allowance ${(allowance / MiB).toFixed(1)} MiB); peak mapped ${((s?.peakMappedBytes ?? 0) / MiB).toFixed(1)} MiB`);
    }
    expect(end - pre).toBeLessThanOrEqual(allowance);
    expect(s?.peakMappedBytes).toBeGreaterThan(0);
  });

  test('every response body was checked byte for byte in both modes, none wrong', () => {
    for (const label of ['memctx', 'baseline']) {
      const s = data.summaries.find((x) => x.label === label);
      expect(s?.mismatches).toBe(0);
      expect(s?.errors).toBe(0);
      // Every request the service finished was answered and checked (minus the few cut off by ramp-down).
      expect(s?.verified).toBeGreaterThan(100);
      expect(s?.verified).toBeGreaterThanOrEqual((s?.requests ?? 0) - 4 * PEAK);
    }
  });

  const chromium = findChromium();
  (chromium === null ? test.skip : test)('the report of the run draws its charts in headless Chromium', () => {
    const r = spawnSync(chromium as string, [...chromiumArgs(path.join(dir, 'profile')), '--dump-dom', '--virtual-time-budget=3000', `file://${path.join(dir, 'report.html')}`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('data-charts-drawn="6"');
    expect(r.stdout).toContain('data-series="memctx,baseline"');
  });
});

describe('npm start: a dying child ends the tool with a message, never a hang', () => {
  async function killDuringRun(which: 'service' | 'load client'): Promise<{ r: RunResult; pid: number }> {
    const dir = tmpDir('memctx-demo-kill-');
    let pid = 0;
    const pattern = which === 'service' ? /\[memctx\] service pid (\d+)/ : /\[memctx\] load client pid (\d+)/;
    const r = await runDemo(['--phases', '1,1,30,1,1', '--peak', '2', '--modes', 'memctx', '--out', dir], {
      timeoutMs: 30_000,
      onStdout: (text) => {
        const m = pattern.exec(text);
        if (pid === 0 && m && /rampup starts/.test(text)) {
          pid = Number(m[1]);
          process.kill(pid, 'SIGKILL');
        }
      },
    });
    fs.rmSync(dir, { recursive: true, force: true });
    return { r, pid };
  }

  test('the service', async () => {
    const { r, pid } = await killDuringRun('service');
    expect(pid).toBeGreaterThan(0);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the memctx service (pid ${pid}) was killed by SIGKILL during rampup`);
  }, 40_000);

  test('the load client', async () => {
    const { r, pid } = await killDuringRun('load client');
    expect(pid).toBeGreaterThan(0);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the load client (pid ${pid}) was killed by SIGKILL during rampup of the memctx run`);
  }, 40_000);
});
