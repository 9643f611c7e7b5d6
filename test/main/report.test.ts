// test/main/report.test.ts - samples files, CSV, the offline HTML report and `memctx report`, rendered in headless Chromium.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../lib/cli';
import type { MonitorSample } from '../../lib/monitor';
import { CSV_COLUMNS, parseSamples, toCsv, toJsonLines, type ReportData } from '../../lib/report/data';
import { renderReportHtml, writeReport } from '../../lib/report/html';
import { formatTables, sig3, summaryTables, wrapText } from '../../lib/report/table';
import { chromiumArgs, countColor, decodePng, DIST, ensureBuilt, findChromium, ROOT, tmpDir } from './helpers';

const MiB = 1024 * 1024;

/** A synthetic two-mode run: RSS ramps with load; memctx falls back, baseline stays. */
function syntheticRun(): ReportData {
  const t0 = 1_700_000_000_000;
  const phases = [
    ['warmup', 0, 2],
    ['rampup', 2, 6],
    ['hold', 6, 10],
    ['rampdown', 10, 12],
    ['idle', 12, 16],
  ] as const;
  const data: ReportData = { meta: { type: 'meta', title: 'synthetic run', command: 'npm start -- --peak 4' }, samples: [], phases: [], summaries: [] };
  for (const label of ['memctx', 'baseline']) {
    for (const [name, from, to] of phases) data.phases.push({ type: 'phase', label, name, startMs: t0 + from * 1000, endMs: t0 + to * 1000 });
    for (let i = 0; i <= 160; i++) {
      const t = i / 10;
      const load = t < 2 ? 0.1 : t < 6 ? (t - 2) / 4 : t < 10 ? 1 : t < 12 ? (12 - t) / 2 : 0;
      const rssMiB = label === 'memctx' ? 50 + 100 * load : 50 + 100 * Math.min(1, t / 6);
      const sample: MonitorSample = {
        type: 'sample', label, pid: label === 'memctx' ? 10 : 11, timeMs: t0 + i * 100, elapsedMs: i * 100, intervalMs: 100,
        phase: phases.find(([, a, b]) => t >= a && t < b)?.[0] ?? 'idle',
        rssBytes: rssMiB * MiB, rssAnonBytes: (rssMiB - 30) * MiB, rssFileBytes: 30 * MiB,
        heapUsedBytes: 8 * MiB, heapTotalBytes: 12 * MiB, externalBytes: 2 * MiB, arrayBuffersBytes: MiB,
        mappedBytes: label === 'memctx' ? 100 * load * MiB + 4 * MiB : null,
        residentBytes: label === 'memctx' ? 90 * load * MiB : null,
        topChunkCount: label === 'memctx' ? 1 + Math.round(4 * load) : null,
        contextCount: label === 'memctx' ? Math.round(32 * load) : null,
        requests: Math.round(300 * load), aborted: 0, inFlight: Math.round(4 * load), inFlightMax: Math.round(4 * load), reqPerSec: 3000 * load,
        latencyP50Ms: load > 0 ? 0.5 : null, latencyP99Ms: load > 0 ? 2 + load : null, latencyMaxMs: load > 0 ? 5 : null,
        gcCount: i % 7 === 0 ? 1 : 0, gcPauseMs: i % 7 === 0 ? 1.5 : 0, gcMaxPauseMs: i % 7 === 0 ? 1.5 : 0, cpuPercent: 80 * load,
        eventLoopDelayP99Ms: 11 + 4 * load, eventLoopDelayMaxMs: 12 + 8 * load, minorFaults: Math.round(500 * load), majorFaults: 0,
      };
      // The demo's services add the request memory in flight to their samples.
      data.samples.push({ ...sample, requestBytes: 40 * load * MiB, requestBytesMax: 48 * load * MiB } as MonitorSample);
    }
  }
  // A malloc_trim call every second of the baseline series.
  data.trims = Array.from({ length: 16 }, (_, i) => ({ type: 'trim' as const, label: 'baseline', timeMs: t0 + i * 1000 + 500, durationMs: 0.2 + (i % 4), released: i % 2 === 0 }));
  data.summaries.push({
    type: 'summary', label: 'memctx', peakRssBytes: 150 * MiB, preRampRssBytes: 60 * MiB, rssAfterLoad2sBytes: 50 * MiB, endRssBytes: 50 * MiB,
    peakMappedBytes: 104 * MiB, endMappedBytes: 4 * MiB, holdReqPerSec: 3000, holdP50Ms: 0.5, holdP99Ms: 3, holdCpuPercent: 80, holdCpuUsPerRequest: 266, loadP99Ms: 3,
    requests: 1000, gcCount: 20, gcPauseMs: 30, verified: 1000, mismatches: 0, errors: 0, loadStopMs: t0 + 12_000,
  });
  data.summaries.push({
    type: 'summary', label: 'baseline', peakRssBytes: 1234.5 * MiB, preRampRssBytes: 123.4 * MiB, rssAfterLoad2sBytes: 1200.1 * MiB, endRssBytes: 1199.9 * MiB,
    peakMappedBytes: null, endMappedBytes: null, holdReqPerSec: 12345, holdP50Ms: 1234.5, holdP99Ms: 12345.6, holdServiceP99Ms: 1234.5, holdCpuPercent: 180, holdCpuUsPerRequest: 12345, loadP99Ms: 3,
    requests: 123456, gcCount: 12345, gcPauseMs: 123456, verified: 1234567, mismatches: 0, errors: 0, loadStopMs: t0 + 12_000,
    holdLoopDelayP99Ms: 1234.5, holdMinorFaults: 1234567, peakRequestBytes: 1023.9 * MiB, recoveryMs: null, recoveryMinorFaults: 12345678, recoveryGcPauseMs: 12345,
    recoveryLoopDelayMaxMs: 12345.6, returnMinorFaults: 1234567, trimCount: 1234, trimPauseMs: 12345.6, trimMaxPauseMs: 1234.5, trimFaultsAfterMedian: 123456,
  });
  return data;
}

describe('samples files', () => {
  test('round-trip through JSON Lines, with meta, phases and summaries', () => {
    const data = syntheticRun();
    const back = parseSamples(toJsonLines(data));
    expect(back.samples).toHaveLength(data.samples.length);
    expect(back.phases).toHaveLength(10);
    expect(back.summaries[0].label).toBe('memctx');
    expect(back.trims).toHaveLength(16);
    expect(back.trims?.[3]).toEqual(data.trims?.[3]);
    expect(back.meta?.title).toBe('synthetic run');
  });

  test('a torn last line is tolerated, a bad line elsewhere is an error naming the line', () => {
    const text = toJsonLines(syntheticRun());
    expect(parseSamples(text + '{"type":"sam').samples.length).toBeGreaterThan(0);
    const lines = text.split('\n');
    lines.splice(3, 0, 'not json');
    expect(() => parseSamples(lines.join('\n'), 'x.jsonl')).toThrow(/x\.jsonl:4: not a JSON line/);
    expect(() => parseSamples('{"type":"meta"}\n', 'y.jsonl')).toThrow(/y\.jsonl: no samples found/);
    expect(() => parseSamples('{"type":"sample","timeMs":"x","rssBytes":1}\n', 'z')).toThrow(/z:1: a sample needs numeric timeMs and rssBytes/);
  });

  test('CSV has one row per sample, the fixed columns, and times relative to each run', () => {
    const data = syntheticRun();
    const rows = toCsv(data).trim().split('\n');
    expect(rows[0]).toBe(CSV_COLUMNS.join(','));
    expect(rows).toHaveLength(data.samples.length + 1);
    const col = (name: string): number => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
    const baselineFirst = rows.find((r) => r.startsWith('baseline,'))?.split(',') ?? [];
    expect(Number(baselineFirst[col('tSec')])).toBe(0);
    expect(baselineFirst[col('mappedBytes')]).toBe('');
    expect(Number(baselineFirst[col('rssBytes')])).toBe(50 * MiB);
  });
});

describe('summary tables', () => {
  test('fit 100 columns even with large figures, and print latencies to 3 significant digits', () => {
    const tables = summaryTables(syntheticRun().summaries);
    expect(tables.map((t) => t.headers[1])).toEqual(['RSS pre-ramp', 'req/s', 'faults']);
    const text = formatTables(tables);
    const widths = text.split('\n').map((l) => l.length);
    expect(Math.max(...widths)).toBeLessThanOrEqual(100);
    const baseline = tables.map((t) => t.rows[1]);
    expect(baseline[1].slice(2, 6)).toEqual(['1235 ms', '12346 ms', '1235 ms', '1235 ms']);
    expect(baseline[1][8]).toBe('1234567');
    // A run without the own-time figure (not the demo's services) shows a dash there.
    expect(tables[1].rows[0][4]).toBe('-');
    expect(tables[0].rows[0].slice(1, 5)).toEqual(['60.0', '150.0', '50.0', '50.0']);
    expect(baseline[0][7]).toBe('not in idle');
    expect(baseline[2].slice(4, 7)).toEqual(['1234', '12346 ms', '1235 ms']);
  });

  test('wrapText breaks at spaces within the width, with a first-line and a continuation indent', () => {
    expect(wrapText('aaa bbb ccc ddd', 9, '    ', '  ')).toEqual(['  aaa bbb', '    ccc', '    ddd']);
    expect(wrapText('a  b', 80)).toEqual(['a b']);
    expect(wrapText('averyveryverylongword x', 8)).toEqual(['averyveryverylongword', 'x']);
  });

  test('sig3 prints what an HDR histogram resolves: three significant digits', () => {
    expect([sig3(0.012345), sig3(1.2345), sig3(12.345), sig3(123.45), sig3(1234.5), sig3(null)]).toEqual(['0.012', '1.23', '12.3', '123', '1235', 'n/a']);
  });
});

describe('HTML report', () => {
  test('is self-contained: uPlot inlined, no external scripts, styles or fetches', () => {
    const html = renderReportHtml(syntheticRun());
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/https?:\/\/(?!github\.com\/leeoniya)/);
    for (const id of ['rss', 'mapped', 'rps', 'p99', 'heap', 'gc']) expect(html).toContain(`id="chart-${id}"`);
    expect(html.match(/<table class="summary">/g)).toHaveLength(3);
    expect(html).toContain('malloc_trim calls (count, summed and longest pause');
  });

  test('escapes titles and data so nothing closes the script early', () => {
    const data = syntheticRun();
    data.samples[0].label = '</script><b>x';
    const html = renderReportHtml(data, { title: '<b>t</b>' });
    expect(html).toContain('&lt;b&gt;t&lt;/b&gt;');
    expect(html.match(/<\/script>/g)?.length).toBe(html.match(/<script/g)?.length);
  });

  test('`memctx report` writes the report next to the samples file and prints its path', () => {
    const dir = tmpDir('memctx-report-');
    const file = path.join(dir, 'run.jsonl');
    fs.writeFileSync(file, toJsonLines(syntheticRun()));
    let out = '';
    let err = '';
    const sink = (fn: (s: string) => void) => ({ write: (s: string) => (fn(s), true) }) as unknown as NodeJS.WritableStream;
    const code = runCli(['report', file], sink((s) => (out += s)), sink((s) => (err += s)));
    expect(err).toBe('');
    expect(code).toBe(0);
    const html = path.join(dir, 'run.html');
    expect(out).toContain(`report: ${html}`);
    expect(fs.readFileSync(html, 'utf8')).toContain('id="chart-rss"');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('`memctx report` (dist/cli.js, as the tarball ships it) loads no devDependency and not the addon', () => {
    ensureBuilt();
    const dir = tmpDir('memctx-cli-');
    const file = path.join(dir, 'run.jsonl');
    fs.writeFileSync(file, toJsonLines(syntheticRun()));
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    // A require hook that fails the process on any devDependency or on the native addon.
    const guard = path.join(dir, 'guard.js');
    fs.writeFileSync(guard, `
      const Module = require('module');
      const dev = new Set(${JSON.stringify(Object.keys(pkg.devDependencies))});
      const load = Module._load;
      Module._load = function (request, ...rest) {
        const name = request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0];
        if (dev.has(name) || request.endsWith('.node') || request === 'node-gyp-build') throw new Error('cli loaded ' + request);
        return load.call(this, request, ...rest);
      };`);
    const r = spawnSync(process.execPath, ['--require', guard, path.join(DIST, 'cli.js'), 'report', file], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`report: ${path.join(dir, 'run.html')}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('`memctx` rejects bad use with one line and exit code 2 (1 for unreadable files)', () => {
    const cases: [string[], number, RegExp][] = [
      [[], 2, /missing command/],
      [['draw', 'x'], 2, /unknown command "draw"/],
      [['report'], 2, /exactly one samples file, got 0/],
      [['report', 'a', 'b'], 2, /got 2/],
      [['report', '--bogus', 'a'], 2, /Unknown option '--bogus'/],
      [['report', '/nonexistent/samples.jsonl'], 1, /cannot open \/nonexistent\/samples\.jsonl: ENOENT/],
    ];
    for (const [args, want, message] of cases) {
      let err = '';
      const code = runCli(args, { write: () => true } as unknown as NodeJS.WritableStream, { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream);
      expect([args, code]).toEqual([args, want]);
      expect(err).toMatch(message);
      expect(err.trim().split('\n')).toHaveLength(1);
    }
  });

  const chromium = findChromium();
  const withBrowser = chromium === null ? test.skip : test;
  if (chromium === null) {
    console.warn('report browser test skipped: no chromium found; run scripts/setup-chromium.sh (Debian package chromium)');
  }

  withBrowser('draws every chart in headless Chromium: series in the DOM, a screenshot that is not blank', () => {
    const dir = tmpDir('memctx-chromium-');
    const html = writeReport(syntheticRun(), path.join(dir, 'report.html'));
    const run = (extra: string[]) =>
      spawnSync(chromium as string, [...chromiumArgs(path.join(dir, `profile-${extra[0].slice(2, 8)}`)), ...extra, `file://${html}`], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    const dom = run(['--dump-dom', '--virtual-time-budget=3000']);
    expect(dom.status).toBe(0);
    expect(dom.stdout).toContain('data-charts-drawn="10"');
    // uPlot's legend lists every series by name; the data attributes count the plotted points.
    for (const name of ['memctx', 'baseline', 'memctx mapped', 'memctx resident', 'memctx p99', 'baseline max']) expect(dom.stdout).toContain(`>${name}<`);
    const points = [...dom.stdout.matchAll(/id="chart-(\w+)"[^>]*data-points="(\d+)"/g)].map((m) => [m[1], Number(m[2])] as const);
    expect(points.map(([id]) => id)).toEqual(['rss', 'mapped', 'inflight', 'rps', 'p99', 'heap', 'eld', 'faults', 'gc', 'trim']);
    for (const [id, p] of points) expect(p).toBeGreaterThan(id === 'trim' ? 15 : 100);

    const png = path.join(dir, 'shot.png');
    const shot = run([`--screenshot=${png}`, '--window-size=1200,1600', '--virtual-time-budget=3000']);
    expect(shot.status).toBe(0);
    const pixels = decodePng(png);
    expect(pixels.width).toBe(1200);
    // The two series colours (#1b9e77 memctx, #d95f02 baseline) are drawn on the canvases.
    expect(countColor(pixels, [0x1b, 0x9e, 0x77])).toBeGreaterThan(500);
    expect(countColor(pixels, [0xd9, 0x5f, 0x02])).toBeGreaterThan(500);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
