// demo/src/main.ts - npm start: runs the demo service in memctx, baseline and trim mode under an autocannon ramp, shows it live, writes the report.
//
// Per mode: fork the service (demo/src/service.ts), wait for its port, fork the load client
// (demo/src/load.ts) which walks the phases and reports them; forward phase changes to the
// service (its monitor tags samples and keeps per-phase latency statistics); collect the
// service's 100 ms samples. A child that dies, or a run that overstays its plan, ends the tool
// with a message naming the process and a non-zero code; no path waits forever.
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PhaseStats } from '../../dist/monitor';
import { toCsv, toJsonLines, type PhaseRecord, type ReportData, type SummaryRecord, type TrimRecord } from '../../dist/report/data';
import { writeReport } from '../../dist/report/html';
import { formatTables, mib, sig3, summaryTables, wrapText } from '../../dist/report/table';
import type { Mode } from './alloc';
import { HELP, parseDemoArgs, UsageError, type DemoOptions } from './args';
import { fillBody, FILE_SEED } from './bodies';
import type { DemoSample, FromLoad, FromService, LoadResult, ToLoad, ToService } from './protocol';
import type { ServiceTimeStats } from './servicetime';
import { RECOVERED_WITHIN_BYTES, summarize, type ModeRun } from './summary';
import { LiveView } from './view';

const DATA_FILE_BYTES = 16 * 1024 * 1024;
const STARTUP_TIMEOUT_MS = 20_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

function stamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Creates the output folder and proves it is writable; UsageError (exit 2) otherwise. */
function prepareOutDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `.probe-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.unlinkSync(probe);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`cannot write to output folder ${dir}: ${e.code ?? e.message}`);
  }
}

function writeDataFile(file: string): void {
  const fd = fs.openSync(file, 'w');
  try {
    const block = Buffer.allocUnsafe(1024 * 1024);
    for (let off = 0; off < DATA_FILE_BYTES; off += block.length) {
      fillBody(block, FILE_SEED, off);
      fs.writeSync(fd, block, 0, block.length, off);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Keeps the last few KiB of a child's stderr for error messages. */
function tail(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-4096);
  });
  return () => {
    const lines = text.trim().split('\n').filter((l) => l.trim().length > 0);
    return lines.length === 0 ? '' : `; its last output: ${lines.slice(-3).join(' | ')}`;
  };
}

interface RunContext {
  opts: DemoOptions;
  dataFile: string;
  view: LiveView;
  log: (line: string) => void;
}

/**
 * The environment of a mode's service. The memctx service gets glibc's heap trim threshold
 * (--heap-trim-mib) in GLIBC_TUNABLES, unless that already sets one; the plain modes keep the
 * driver's environment, since a fixed threshold would also fix glibc's mmap threshold, which
 * their bodies need to rise (docs/MAIN.md, "Faults in hold").
 */
export function serviceEnv(mode: Mode, heapTrimMiB: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const given = env.GLIBC_TUNABLES ?? '';
  if (mode !== 'memctx' || heapTrimMiB === 0 || given.includes('glibc.malloc.trim_threshold=')) return env;
  const setting = `glibc.malloc.trim_threshold=${heapTrimMiB * 1024 * 1024}`;
  return { ...env, GLIBC_TUNABLES: given.length > 0 ? `${given}:${setting}` : setting };
}

function runMode(mode: Mode, rc: RunContext): Promise<ModeRun> {
  const { opts, view } = rc;
  const planMs = opts.phases.reduce((a, p) => a + p.durationMs, 0);
  const here = __dirname;
  return new Promise<ModeRun>((resolve, reject) => {
    const samples: DemoSample[] = [];
    const trims: TrimRecord[] = [];
    let zeroSinceMs: number | null = null;
    const phases: PhaseRecord[] = [];
    let phaseStats: PhaseStats[] = [];
    let serviceTime: ServiceTimeStats[] = [];
    let loadResult: LoadResult | null = null;
    let glibcTunables: string | null = null;
    let loadStopMs: number | null = null;
    let currentPhase = 'startup';
    let firstPhaseMs: number | null = null;
    let settled = false;
    let load: ChildProcess | null = null;
    const timers: NodeJS.Timeout[] = [];

    const finish = (err: Error | null, value?: ModeRun): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      if (err !== null) {
        killAll();
        reject(err);
      } else resolve(value as ModeRun);
    };
    const fail = (message: string): void => finish(new Error(message));

    const service = fork(path.join(here, 'service.js'), [mode, rc.dataFile, String(opts.intervalMs), String(opts.backendMs), String(opts.chunkKiB * 1024), String(opts.trimIntervalMs), String(opts.pieceKiB * 1024), String(opts.maxChunkKiB * 1024)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: serviceEnv(mode, opts.heapTrimMiB),
      execArgv: [
        ...(opts.idleGc ? ['--expose-gc'] : []),
        ...(opts.semiSpaceMiB > 0 ? [`--max-semi-space-size=${opts.semiSpaceMiB}`] : []),
      ],
    });
    live.add(service);
    const serviceTail = tail(service);
    const toService = (msg: ToService): void => {
      if (service.connected) service.send(msg);
    };
    const startupTimer = setTimeout(
      () => fail(`the ${mode} service (pid ${service.pid}) did not start listening within ${STARTUP_TIMEOUT_MS / 1000} s${serviceTail()}`),
      STARTUP_TIMEOUT_MS,
    );
    timers.push(startupTimer);
    service.on('error', (err) => fail(`cannot start the ${mode} service: ${err.message}`));
    service.on('exit', (code, signal) => {
      live.delete(service);
      if (settled) return;
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      fail(`the ${mode} service (pid ${service.pid}) ${how} during ${currentPhase}${serviceTail()}`);
    });

    const startLoad = (port: number): void => {
      const child = fork(path.join(here, 'load.js'), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
      load = child;
      live.add(child);
      const loadTail = tail(child);
      rc.log(`[${mode}] load client pid ${child.pid} (autocannon), peak ${opts.peakConnections} connections`);
      child.on('error', (err) => fail(`cannot start the load client: ${err.message}`));
      child.on('exit', (code, signal) => {
        live.delete(child);
        if (settled || loadResult !== null) return;
        const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        fail(`the load client (pid ${child.pid}) ${how} during ${currentPhase} of the ${mode} run${loadTail()}`);
      });
      child.on('message', (msg: FromLoad) => {
        if (msg.type === 'phase') {
          const prev = phases[phases.length - 1];
          if (prev !== undefined) prev.endMs = msg.timeMs;
          phases.push({ type: 'phase', label: mode, name: msg.name, startMs: msg.timeMs, endMs: msg.timeMs });
          if (firstPhaseMs === null) firstPhaseMs = msg.timeMs;
          currentPhase = msg.name;
          // The load stops when idle begins with no connection left (ramp-down may close the last one before).
          if (msg.name === 'idle' && zeroSinceMs !== null) loadStopMs ??= zeroSinceMs;
          toService({ type: 'phase', name: msg.name });
          view.onPhase(mode, msg.name, msg.timeMs, msg.connections);
        } else if (msg.type === 'connections') {
          view.onConnections(mode, msg.connections);
          zeroSinceMs = msg.connections === 0 ? (zeroSinceMs ?? msg.timeMs) : null;
          if (msg.connections === 0 && currentPhase === 'idle') loadStopMs ??= zeroSinceMs;
        } else if (msg.type === 'done') {
          loadResult = msg.result;
          const last = phases[phases.length - 1];
          if (last !== undefined) last.endMs = Date.now();
          currentPhase = 'shutdown';
          toService({ type: 'stats' });
        } else if (msg.type === 'fatal') {
          fail(`the load client failed: ${msg.message.split('\n')[0]}`);
        }
      });
      const start: ToLoad = {
        type: 'start',
        config: {
          port,
          phases: opts.phases,
          peakConnections: opts.peakConnections,
          warmConnections: opts.warmConnections,
          trickleConnections: opts.trickleConnections,
          mix: opts.mix,
          verify: opts.verify,
          verifyEvery: opts.verifyEvery,
          seed: opts.seed,
          fileSizeBytes: DATA_FILE_BYTES,
        },
      };
      child.send(start);
      // Backstop: the plan plus generous slack; a stuck child never hangs the tool.
      timers.push(setTimeout(() => fail(`the ${mode} run did not finish within ${(planMs + 30_000) / 1000} s (stuck in ${currentPhase})`), planMs + 30_000));
    };

    service.on('message', (msg: FromService) => {
      if (msg.type === 'listening') {
        clearTimeout(startupTimer);
        glibcTunables = msg.glibcTunables;
        rc.log(`[${mode}] service pid ${msg.pid} listening on 127.0.0.1:${msg.port}`);
        startLoad(msg.port);
      } else if (msg.type === 'sample') {
        if (firstPhaseMs === null || msg.sample.timeMs < firstPhaseMs) return;
        samples.push(msg.sample);
        view.onSample(mode, msg.sample);
      } else if (msg.type === 'trim') {
        if (firstPhaseMs !== null && msg.trim.timeMs >= firstPhaseMs) trims.push(msg.trim);
      } else if (msg.type === 'stats') {
        phaseStats = msg.phases;
        serviceTime = msg.serviceTime;
        view.onModeDone(mode);
        const exited = new Promise<void>((res) => {
          if (service.exitCode !== null || service.signalCode !== null) res();
          else service.once('exit', () => res());
        });
        settled = true; // the service's exit is expected from here on
        toService({ type: 'exit' });
        const force = setTimeout(() => service.kill('SIGKILL'), SHUTDOWN_TIMEOUT_MS);
        exited.then(() => {
          clearTimeout(force);
          for (const t of timers) clearTimeout(t);
          if (load !== null && load.exitCode === null) load.kill('SIGKILL');
          resolve({ label: mode, samples, trims, phases, phaseStats, serviceTime, load: loadResult, glibcTunables, loadStopMs, verify: opts.verify });
        });
      } else if (msg.type === 'fatal') {
        fail(`the ${mode} service failed: ${msg.message}`);
      }
    });
  });
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  return a === null || a === undefined || b === null || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`;
}

/** memctx's release delay: the decay the services run with (the facade's default unless configured). */
function decayMs(): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const facade = require('../../dist/index') as typeof import('../../dist/index');
  return facade.getConfiguration().decayMs;
}

/**
 * The targets of the spike, each checked against this run's own figures: memctx back within
 * 8 MiB of its pre-ramp RSS within decay + 1 s of idle; its p99 under load no worse than the trim
 * mode's; fewer page faults than the trim mode when traffic returns.
 */
export function targetLines(m: SummaryRecord, t: SummaryRecord | undefined, decay: number): string[] {
  const verdict = (ok: boolean | null): string => (ok === null ? 'not measured' : ok ? 'met' : 'NOT met');
  const limitMs = decay + 1000;
  const back = m.recoveryMs ?? null;
  const lines = [
    `memctx back within ${RECOVERED_WITHIN_BYTES / 1024 / 1024} MiB of pre-ramp RSS within decay + 1 s = ${(limitMs / 1000).toFixed(1)} s of idle: ` +
      `${verdict(m.recoveryMs === undefined ? null : back !== null && back <= limitMs)} ` +
      `(${back === null ? 'not within idle' : `${(back / 1000).toFixed(1)} s`}; ${mib(m.preRampRssBytes)} -> ${mib(m.endRssBytes)})`,
  ];
  if (t !== undefined) {
    // Judged on the service's own time: the backend wait is the same per request in every mode,
    // and with a wait of seconds it makes the end-to-end p99 that of the waits that fell in hold.
    const mo = m.holdServiceP99Ms ?? null;
    const to = t.holdServiceP99Ms ?? null;
    const p99 = mo !== null && to !== null ? mo <= to : null;
    lines.push(
      `memctx p99 under load no worse than trim's, in the service's own time (latency minus the backend wait): ${verdict(p99)} ` +
        `(${sig3(mo, ' ms')} vs ${sig3(to, ' ms')}; end to end, the wait included: ${sig3(m.holdP99Ms, ' ms')} vs ${sig3(t.holdP99Ms, ' ms')})`,
    );
    const mf = m.returnMinorFaults ?? null;
    const tf = t.returnMinorFaults ?? null;
    lines.push(`memctx fewer page faults than trim when traffic returns: ${verdict(mf !== null && tf !== null ? mf < tf : null)} (${mf ?? 'n/a'} vs ${tf ?? 'n/a'})`);
  }
  return lines;
}

export async function main(argv: string[]): Promise<number> {
  let opts: DemoOptions;
  try {
    opts = parseDemoArgs(argv);
    if (opts.help) {
      process.stdout.write(HELP + '\n');
      return 0;
    }
    const outDir = path.resolve(opts.outDir ?? path.join('reports', stamp()));
    prepareOutDir(outDir);
    opts.outDir = outDir;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`memctx demo: ${err.message} (see npm start -- --help)\n`);
      return 2;
    }
    throw err;
  }
  const outDir = opts.outDir as string;
  const tty = process.stdout.isTTY === true && !opts.plain;
  const log = (line: string): void => {
    if (!tty) process.stdout.write(line + '\n');
  };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'memctx-demo-'));
  const dataFile = path.join(dataDir, 'data.bin');
  const planMs = opts.phases.reduce((a, p) => a + p.durationMs, 0);
  const cleanup = (): void => {
    killAll();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  writeDataFile(dataFile);
  const startedAt = new Date();
  const intro =
    `memctx demo, ${opts.profile} profile: ${opts.modes.join(opts.sequential ? ' then ' : ', ')}${opts.sequential ? `, ${(planMs / 1000).toFixed(0)} s each` : ` at once, ${(planMs / 1000).toFixed(0)} s`} ` +
    `(${opts.phases.map((p) => `${p.name}\u00a0${(p.durationMs / 1000).toFixed(0)}\u00a0s`).join(', ')}); peak ${opts.peakConnections} connections per mode, backend ${opts.backendMs} ms, ` +
    `bodies ${opts.verify ? (opts.verifyEvery > 1 ? `checked (1 in ${opts.verifyEvery} byte for byte)` : 'checked byte for byte') : 'not checked'}, ` +
    `large bodies in one Buffer each${opts.modes.includes('memctx') && opts.pieceKiB > 0 ? ` (memctx: in ${opts.pieceKiB} KiB Buffers)` : ''}, ` +
    `${opts.modes.includes('memctx') ? `memctx: glibc heap trim threshold ${opts.heapTrimMiB > 0 ? `${opts.heapTrimMiB} MiB` : "glibc's own"}, ` : ''}` +
    `${opts.idleGc ? 'one GC once idle' : 'no idle GC'}, V8 semi-space ${opts.semiSpaceMiB > 0 ? `${opts.semiSpaceMiB} MiB` : 'default'}` +
    `${opts.modes.includes('trim') ? `, malloc_trim every ${opts.trimIntervalMs} ms in trim mode` : ''}`;
  process.stdout.write(wrapText(intro, Math.min(100, process.stdout.columns ?? 100), '  ').join('\n') + '\n');
  const view = new LiveView({ modes: opts.modes, modeDurationMs: planMs, phases: opts.phases, tty });
  const onSignal = (sig: NodeJS.Signals): void => {
    view.stop();
    cleanup();
    process.stderr.write(`memctx demo: stopped by ${sig}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let runs: ModeRun[] = [];
  try {
    const rc: RunContext = { opts, dataFile, view, log };
    if (opts.sequential) {
      for (const mode of opts.modes) runs.push(await runMode(mode, rc));
    } else {
      // At the same time: each mode has its own service and client, and both share whatever
      // else the machine is doing, so the comparison is fair even on a busy host.
      runs = await Promise.all(opts.modes.map((mode) => runMode(mode, rc)));
    }
  } catch (err) {
    view.stop();
    cleanup();
    process.stderr.write(`memctx demo: ${(err as Error).message}\n`);
    return 1;
  }
  view.stop();
  cleanup();

  const summaries = runs.map(summarize);
  const data: ReportData = {
    meta: {
      type: 'meta',
      title: `memctx npm start (${opts.profile} profile): ${opts.modes.join(' vs ')}`,
      profile: opts.profile,
      command: `npm start -- ${argv.join(' ')}`.trim(),
      startedAt: startedAt.toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      peakConnections: opts.peakConnections,
      phases: opts.phases,
      glibcTunables: Object.fromEntries(runs.map((r) => [r.label, r.glibcTunables])),
    },
    samples: runs.flatMap((r) => r.samples),
    phases: runs.flatMap((r) => r.phases),
    summaries,
    trims: runs.flatMap((r) => r.trims),
  };
  const jsonlPath = path.join(outDir, 'samples.jsonl');
  const csvPath = path.join(outDir, 'samples.csv');
  fs.writeFileSync(jsonlPath, toJsonLines(data));
  fs.writeFileSync(csvPath, toCsv(data));
  const reportPath = writeReport(data, path.join(outDir, 'report.html'));

  const columns = Math.min(100, process.stdout.columns ?? 100);
  process.stdout.write('\n' + formatTables(summaryTables(summaries), columns) + '\n\n');
  const byLabel = (label: string): SummaryRecord | undefined => summaries.find((x) => x.label === label);
  const m = byLabel('memctx');
  for (const other of [byLabel('baseline'), byLabel('trim')]) {
    if (m === undefined || other === undefined) continue;
    const line =
      `memctx / ${other.label}: throughput ${ratio(m.holdReqPerSec, other.holdReqPerSec)}, p99 ${ratio(m.holdP99Ms, other.holdP99Ms)} ` +
      `(own time ${ratio(m.holdServiceP99Ms, other.holdServiceP99Ms)}), ` +
      `CPU per request ${ratio(m.holdCpuUsPerRequest, other.holdCpuUsPerRequest)}, peak RSS ${ratio(m.peakRssBytes, other.peakRssBytes)}`;
    process.stdout.write(wrapText(line, columns, '  ').join('\n') + '\n');
  }
  for (const x of summaries) {
    process.stdout.write(`${x.label.padEnd(8)} RSS before the ramp, 2 s after the load, end of idle: ${mib(x.preRampRssBytes)}, ${mib(x.rssAfterLoad2sBytes)}, ${mib(x.endRssBytes)}\n`);
  }
  if (m !== undefined) {
    const lines = targetLines(m, byLabel('trim'), decayMs()).flatMap((l) => wrapText(l, columns, '    ', '  '));
    process.stdout.write(`targets (this run):\n${lines.join('\n')}\n`);
  }
  process.stdout.write(`samples: ${jsonlPath}\n         ${csvPath}\nreport: ${reportPath}\n`);

  const bad = runs.filter((r) => r.load !== null && r.load.mismatches > 0);
  if (bad.length > 0) {
    for (const r of bad) {
      process.stderr.write(`memctx demo: ${r.load?.mismatches} wrong response bodies in ${r.label} mode, e.g. ${r.load?.mismatchSamples[0]}\n`);
    }
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      killAll();
      process.stderr.write(`memctx demo: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
