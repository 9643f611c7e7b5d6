// bench/tools/run-c.mjs - runs the C benchmarks built in build-bench/ (issue 2's region program
// and the peer workloads, one process per allocator and run, interleaved round by round),
// profiles memctx (callgrind, perf stat software events) and writes bench/results/c.json.
//
// Usage: node bench/tools/run-c.mjs [--quick] [--build-dir DIR] [--out FILE]
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { machineInfo } from './stats.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argValue = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const buildDir = path.resolve(root, argValue('--build-dir', 'build-bench'));
const outFile = path.resolve(root, argValue('--out', 'bench/results/c.json'));
const binDir = path.join(buildDir, 'bench');

// Sizes of the runs. Full: the workload sizes of BENCHMARKS.md; quick: a one-minute pass.
const plan = quick
  ? {
      region: { rounds: 3, allocs: 200000 },
      rssDecay: { allocs: 300000, cycles: 5 },
      peer: {
        region: { rounds: 2, scale: 0.1 },
        requests: { rounds: 2, scale: 0.05 },
        'requests-child': { rounds: 2, scale: 0.05 },
        mixed: { rounds: 2, scale: 0.1 },
        ramp: { rounds: 1, scale: 0.25, idleMs: 1500 },
      },
      callgrind: { scale: 0.02, cycles: 3 },
    }
  : {
      region: { rounds: 5, allocs: 1000000 },
      rssDecay: { allocs: 1000000, cycles: 20 },
      peer: {
        region: { rounds: 5, scale: 1 },
        requests: { rounds: 3, scale: 1 },
        'requests-child': { rounds: 3, scale: 1 },
        mixed: { rounds: 3, scale: 1 },
        ramp: { rounds: 3, scale: 1, idleMs: 2500 },
      },
      callgrind: { scale: 0.1, cycles: 5 },
    };

// Executables and the peers they hold, in the order rows appear.
const executables = [
  { exe: 'mcx_peer_memctx', family: 'memctx, glibc, naive regions', pkg: null },
  { exe: 'mcx_peer_mimalloc', family: 'mimalloc', pkg: 'libmimalloc-dev' },
  { exe: 'mcx_peer_jemalloc', family: 'jemalloc', pkg: 'libjemalloc-dev' },
  { exe: 'mcx_peer_apr', family: 'APR pools', pkg: 'libapr1-dev' },
  { exe: 'mcx_peer_talloc', family: 'talloc', pkg: 'libtalloc-dev' },
];

const log = (...a) => console.error(...a);
const skips = [];
const backends = []; // { name, doc, exe }
for (const e of executables) {
  const file = path.join(binDir, e.exe);
  if (!fs.existsSync(file)) {
    const line = `skip ${e.family}: ${e.exe} was not built (${e.pkg ?? 'memctx'} not found; scripts/bench-deps.sh installs it as root)`;
    log(line);
    skips.push(line);
    continue;
  }
  const list = execFileSync(file, ['--list'], { encoding: 'utf8' });
  for (const row of list.trim().split('\n')) {
    const [name, doc] = row.split('\t');
    backends.push({ name, doc, exe: file });
  }
}
if (!backends.some((b) => b.name === 'memctx')) {
  log('run-c: mcx_peer_memctx is missing: build with scripts/bench-c.sh first');
  process.exit(1);
}

function runJson(file, argv, { allowFail = false } = {}) {
  const r = spawnSync(file, argv, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`${path.basename(file)} ${argv.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  }
  return { json: r.stdout.trim() ? JSON.parse(r.stdout.trim().split('\n').pop()) : null, stderr: r.stderr, status: r.status };
}

const started = Date.now();
const result = {
  schema: 1,
  quick,
  command: process.env.MCXB_COMMAND || `node bench/tools/run-c.mjs ${args.join(' ')}`.trim(),
  startedAt: new Date().toISOString(),
  machine: machineInfo(root),
  loadAverageAtStart: os.loadavg(),
  plan,
  skips,
  backends: backends.map(({ name, doc, exe }) => ({ name, doc, exe: path.basename(exe) })),
};

// ---- issue 2: the region program (in-process interleaving) and the RSS fall ------------------
{
  const exe = path.join(binDir, 'mcx_bench_region');
  const tmp = path.join(os.tmpdir(), `mcxb-region-${process.pid}.json`);
  log(`region benchmark (issue 2): ${plan.region.allocs} allocations x 20 cycles, ${plan.region.rounds} interleaved rounds`);
  const r = spawnSync(exe, ['--allocs', String(plan.region.allocs), '--reps', String(plan.region.rounds), '--json', tmp], { encoding: 'utf8' });
  process.stderr.write(r.stderr);
  if (r.status !== 0) throw new Error(`mcx_bench_region exited ${r.status}`);
  result.region = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  result.region.command = `${path.relative(root, exe)} --allocs ${plan.region.allocs} --reps ${plan.region.rounds}`;
  const d = spawnSync(exe, ['--rss-decay', '--allocs', String(plan.rssDecay.allocs), '--cycles', String(plan.rssDecay.cycles), '--json', tmp], { encoding: 'utf8' });
  process.stderr.write(d.stderr);
  if (d.status !== 0) throw new Error(`mcx_bench_region --rss-decay exited ${d.status}`);
  result.rssDecay = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  result.rssDecay.command = `${path.relative(root, exe)} --rss-decay --allocs ${plan.rssDecay.allocs} --cycles ${plan.rssDecay.cycles}`;
  fs.rmSync(tmp, { force: true });
}

// ---- issue 6: workloads 1-4, one process per (allocator, round), interleaved --------------
result.workloads = {};
for (const [workload, cfg] of Object.entries(plan.peer)) {
  log(`\nworkload ${workload}: scale ${cfg.scale}, ${cfg.rounds} rounds, ${backends.length} allocators interleaved`);
  const runs = Object.fromEntries(backends.map((b) => [b.name, []]));
  const skipped = {};
  for (let round = 0; round < cfg.rounds; round++) {
    for (const b of backends) {
      if (skipped[b.name]) continue;
      const argv = ['--backend', b.name, '--workload', workload, '--scale', String(cfg.scale)];
      if (workload === 'ramp') argv.push('--idle-ms', String(cfg.idleMs));
      const { json } = runJson(b.exe, argv);
      if (json.skip) {
        skipped[b.name] = json.skip;
        log(`  skip ${b.name} in ${workload}: ${json.skip}`);
        continue;
      }
      if (json.error) throw new Error(`${b.name} ${workload}: ${json.error}`);
      json.round = round;
      runs[b.name].push(json);
    }
    log(`  round ${round + 1}/${cfg.rounds} done`);
  }
  result.workloads[workload] = { scale: cfg.scale, rounds: cfg.rounds, runs, skipped };
}

// ---- workload 5: instructions of workload 1 under callgrind ------------------------------
function callgrindTotal(file) {
  const text = fs.readFileSync(file, 'utf8');
  const m = text.match(/^(?:summary|totals):\s+(\d+)/m);
  return m ? Number(m[1]) : null;
}
function callgrindTop(file, limit) {
  try {
    const out = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=99', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const rows = [];
    for (const line of out.split('\n')) {
      const m = line.match(/^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.+?)\s*$/);
      if (m && !/PROGRAM TOTALS/.test(m[3])) rows.push({ ir: Number(m[1].replace(/,/g, '')), pct: Number(m[2]), where: m[3] });
      if (rows.length >= limit) break;
    }
    return rows;
  } catch {
    return [];
  }
}
const haveValgrind = spawnSync('valgrind', ['--version']).status === 0;
result.callgrind = { available: haveValgrind, scale: plan.callgrind.scale, cycles: plan.callgrind.cycles, runs: {} };
if (haveValgrind) {
  const allocs = Math.round(1000000 * plan.callgrind.scale);
  log(`\nworkload 5: callgrind instruction counts of the region workload (${allocs} allocations x ${plan.callgrind.cycles} cycles)`);
  for (const b of backends) {
    if (result.workloads.region?.skipped[b.name]) continue;
    const out = path.join(os.tmpdir(), `mcxb-cg-${process.pid}-${b.name}.out`);
    const argv = ['--tool=callgrind', '--collect-atstart=no', `--callgrind-out-file=${out}`, b.exe,
      '--backend', b.name, '--workload', 'region', '--scale', String(plan.callgrind.scale),
      '--cycles', String(plan.callgrind.cycles), '--no-warmup', '--callgrind'];
    const r = spawnSync('valgrind', argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) {
      log(`  callgrind ${b.name} failed (${r.status}): ${r.stderr.split('\n').slice(-3).join(' ')}`);
      continue;
    }
    const ir = callgrindTotal(out);
    const ops = allocs * plan.callgrind.cycles;
    result.callgrind.runs[b.name] = { ir, ops, irPerAlloc: ir / ops, top: callgrindTop(out, 12) };
    log(`  ${b.name}: ${(ir / ops).toFixed(1)} instructions per allocation`);
    fs.rmSync(out, { force: true });
  }
  result.callgrind.command = `valgrind --tool=callgrind --collect-atstart=no <exe> --backend <name> --workload region --scale ${plan.callgrind.scale} --cycles ${plan.callgrind.cycles} --no-warmup --callgrind`;

  // memctx on workloads 2 and 3 too, for the profile section (where its time goes there).
  const memctx = backends.find((b) => b.name === 'memctx');
  result.callgrind.profiles = {};
  for (const [workload, scale] of [['requests', quick ? 0.005 : 0.02], ['mixed', quick ? 0.01 : 0.05], ['ramp', quick ? 0.02 : 0.1]]) {
    const out = path.join(os.tmpdir(), `mcxb-cg-${process.pid}-memctx-${workload}.out`);
    const argv = ['--tool=callgrind', '--collect-atstart=no', `--callgrind-out-file=${out}`, memctx.exe,
      '--backend', 'memctx', '--workload', workload, '--scale', String(scale), '--no-warmup', '--callgrind', '--idle-ms', '0'];
    const r = spawnSync('valgrind', argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) continue;
    const { json } = { json: JSON.parse(r.stdout.trim().split('\n').pop()) };
    const ir = callgrindTotal(out);
    result.callgrind.profiles[workload] = { scale, ir, ops: json.ops, irPerAlloc: ir / json.ops, top: callgrindTop(out, 10),
      command: `valgrind --tool=callgrind --collect-atstart=no ${path.relative(root, memctx.exe)} --backend memctx --workload ${workload} --scale ${scale} --no-warmup --callgrind --idle-ms 0` };
    log(`  memctx ${workload}: ${(ir / json.ops).toFixed(1)} instructions per allocation (free and scope calls included)`);
    fs.rmSync(out, { force: true });
  }
}

// ---- perf stat software events of the region workload (memctx and its references) --------
const havePerf = spawnSync('perf', ['--version']).status === 0;
result.perf = { available: havePerf, runs: {} };
if (havePerf) {
  const scale = quick ? 0.1 : 1;
  const events = 'task-clock,page-faults,context-switches,cpu-migrations';
  for (const name of ['memctx', 'naive-keep', 'naive-unmap', 'glibc', 'mimalloc-heap']) {
    const b = backends.find((x) => x.name === name);
    if (!b) continue;
    const r = spawnSync('perf', ['stat', '-x,', '-e', events, b.exe, '--backend', name, '--workload', 'region', '--scale', String(scale), '--no-warmup'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const counters = {};
    for (const line of r.stderr.split('\n')) {
      const f = line.split(',');
      if (f.length > 3 && /^[\d.]+$/.test(f[0])) counters[f[2]] = Number(f[0]);
    }
    result.perf.runs[name] = counters;
  }
  result.perf.command = `perf stat -x, -e ${events} <exe> --backend <name> --workload region --scale ${scale} --no-warmup`;
  // The ramp too: where memctx's throughput goes there (faults rather than instructions?).
  result.perf.ramp = {};
  const rampScale = quick ? 0.25 : 1;
  for (const name of ['memctx', 'glibc', 'mimalloc-free', 'jemalloc-free', 'apr-pool']) {
    const b = backends.find((x) => x.name === name);
    if (!b) continue;
    const r = spawnSync('perf', ['stat', '-x,', '-e', events, b.exe, '--backend', name, '--workload', 'ramp', '--scale', String(rampScale), '--idle-ms', '0'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) continue;
    const counters = {};
    for (const line of r.stderr.split('\n')) {
      const f = line.split(',');
      if (f.length > 3 && /^[\d.]+$/.test(f[0])) counters[f[2]] = Number(f[0]);
    }
    const json = JSON.parse(r.stdout.trim().split('\n').pop());
    result.perf.ramp[name] = { counters, ops: json.ops, peakRssBytes: json.peakRssBytes };
  }
  result.perf.rampCommand = `perf stat -x, -e ${events} <exe> --backend <name> --workload ramp --scale ${rampScale} --idle-ms 0`;
}

result.loadAverageAtEnd = os.loadavg();
result.elapsedSec = (Date.now() - started) / 1000;
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, JSON.stringify(result, null, 1) + '\n');
log(`\nrun-c: wrote ${path.relative(root, outFile)} in ${result.elapsedSec.toFixed(0)} s`);
