// test/reliability/oom.test.ts - owns the out-of-memory test of the facade: a child node process
// under `ulimit -v` (node's own start-up address space + 768 MiB) allocates until the OS refuses a
// mapping; the facade must throw MemctxError ERR_MEMCTX_OOM (never abort the process), keep every
// Buffer intact, and allocate again after contexts are deleted and trim() runs.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const fixture = path.join(__dirname, 'fixtures', 'oom-child.ts');
const register = path.join(__dirname, 'support', 'register.js');

function vmSizeKib(): number {
  // the start-up address space of a node process that has loaded the facade
  const r = spawnSync(process.execPath, ['-r', register, '-e',
    "require(process.argv[1]); console.log(/VmSize:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])",
    path.join(__dirname, '..', '..', 'lib', 'index.ts')], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test('under ulimit -v the facade throws ERR_MEMCTX_OOM, keeps every Buffer, and recovers', () => {
  const base = vmSizeKib();
  expect(base).toBeGreaterThan(0);
  const limitKib = base + 768 * 1024;
  const r = spawnSync('/bin/sh', ['-c', `ulimit -v ${limitKib} && exec "$0" --expose-gc -r "$1" "$2"`, process.execPath, register, fixture],
    { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`the child ended with status ${r.status}, signal ${r.signal}:\n${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rounds: Array<{ mib: number; code: string; message: string }>; intact: boolean; afterFree: boolean };
  console.log(`ulimit -v ${Math.round(limitKib / 1024)} MiB: ${out.rounds.map((x) => `${x.mib} MiB then ${x.code}`).join('; ')}`);
  expect(out.rounds).toHaveLength(3);
  for (const round of out.rounds) {
    expect(round.code).toBe('ERR_MEMCTX_OOM');
    expect(round.message.length).toBeGreaterThan(0);
  }
  expect(out.rounds[0]!.mib).toBeGreaterThan(100);
  expect(out.intact).toBe(true);
  expect(out.afterFree).toBe(true);
}, 180_000);
