#!/usr/bin/env node
// bench/js/service-profile.js - runs the demo service (demo/dist/service.js) alone in one mode
// under a fixed autocannon load (the demo's request mix: /render, /file, /ingest) and reports its
// CPU per request, its V8 heap after an idle full GC and, with --cpu-prof, the self time per
// request of the facade's functions. Usage:
//   node bench/js/service-profile.js [--mode memctx|baseline] [--seconds 8] [--conns 64] [--cpu-prof] [--perf perf.data]
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');

const root = path.join(__dirname, '..', '..');
const { fillBody, FILE_SEED, ingestPayload, logUniformBytes, prng } = require(path.join(root, 'demo', 'dist', 'bodies'));
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const mode = opt('--mode', 'memctx');
const seconds = Number(opt('--seconds', '8'));
const conns = Number(opt('--conns', '64'));
const prof = args.includes('--cpu-prof');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memctx-prof-'));
const dataFile = path.join(dir, 'data.bin');
const FILE_BYTES = 8 << 20;
{
  const b = Buffer.allocUnsafe(FILE_BYTES);
  fillBody(b, FILE_SEED, 0);
  fs.writeFileSync(dataFile, b);
}

function requests() {
  const rand = prng(7);
  const out = [];
  for (let i = 0; i < 512; i++) {
    const k = i % 3;
    if (k === 0) out.push({ method: 'GET', path: `/render?seed=${i}&size=${logUniformBytes(rand, 2048, 256 * 1024)}` });
    else if (k === 1) {
      const len = logUniformBytes(rand, 2048, 256 * 1024);
      out.push({ method: 'GET', path: `/file?off=${Math.floor(rand() * (FILE_BYTES - len))}&len=${len}` });
    } else {
      const body = ingestPayload(i, logUniformBytes(rand, 1024, 64 * 1024));
      out.push({ method: 'POST', path: '/ingest', body, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } });
    }
  }
  return out;
}

async function main() {
  const execArgv = ['--expose-gc', '--max-semi-space-size=2'];
  if (prof) execArgv.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  // --node-arg X (repeatable): more node flags for the service, e.g. --node-arg --trace-gc
  args.forEach((a, i) => { if (a === '--node-arg') execArgv.push(args[i + 1]); });
  const svc = fork(path.join(root, 'demo', 'dist', 'service.js'), [mode, dataFile, '100', '20', '0'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const samples = [];
  let port = 0;
  await new Promise((resolve) => svc.on('message', (m) => {
    if (m.type === 'listening') { port = m.port; resolve(); }
    if (m.type === 'sample') samples.push(m.sample);
  }));
  const reqs = requests();
  // warm-up, then the measured stretch
  await autocannon({ url: `http://127.0.0.1:${port}`, connections: conns, duration: 2, requests: reqs });
  const from = samples.length;
  // --perf FILE: perf record (cpu-clock, call graphs) of the service during the measured stretch
  const perfOut = opt('--perf', null);
  const perf = perfOut === null ? null : require('node:child_process').spawn('perf',
    ['record', '-q', '-e', 'cpu-clock', '-F', '2000', '-g', '-p', String(svc.pid), '-o', perfOut, '--', 'sleep', String(seconds)], { stdio: 'inherit' });
  const t0 = process.hrtime.bigint();
  const r = await autocannon({ url: `http://127.0.0.1:${port}`, connections: conns, duration: seconds, requests: reqs });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (perf !== null && perf.exitCode === null) await new Promise((res) => perf.on('exit', res));
  const held = samples.slice(from);
  const cpuMs = held.reduce((a, s) => a + (s.cpuPercent / 100) * s.intervalMs, 0);
  const reqCount = held.reduce((a, s) => a + s.requests, 0);
  await new Promise((res) => setTimeout(res, 2500)); // idle: the service runs one full GC after 1 s
  const last = samples[samples.length - 1];
  svc.send({ type: 'exit' });
  await new Promise((res) => svc.on('exit', res));
  const out = { mode, reqPerSec: r.requests.average, cpuUsPerReq: (cpuMs * 1000) / reqCount, heapAfterIdleMiB: last.heapUsedBytes / 1048576, non2xx: r.non2xx, errors: r.errors, wallMs };
  if (prof) {
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    const p = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const self = new Map();
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const dt = p.timeDeltas;
    for (let i = 0; i < p.samples.length; i++) {
      const n = byId.get(p.samples[i]);
      const cf = n.callFrame;
      const key = `${cf.functionName || '(anon)'} ${path.basename(cf.url)}:${cf.lineNumber + 1}`;
      self.set(key, (self.get(key) || 0) + (dt[i] || 0));
    }
    const total = r.requests.total + 1;
    out.top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, us]) => `${(us / total).toFixed(2)} us/req  ${k}`);
    out.profile = path.join(dir, file);
  }
  console.log(JSON.stringify(out, null, 1));
}
main().catch((e) => { console.error(e); process.exit(1); });
