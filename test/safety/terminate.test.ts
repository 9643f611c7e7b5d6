// test/safety/terminate.test.ts - owns safety case 4 (docs/RELIABILITY.md, section 7): worker.terminate() at random instants while
// the worker loops over memctx calls (create/alloc/free/realloc/reset/delete/stats/check/trim and
// a throwing call): 32 terminations per run at random delays, with the main thread holding memctx
// too or not loading it at all, both release modes. The process never aborts ("FATAL ERROR") and
// exits 0. Runs in child processes.
import { MODES, runFixture, describeExit } from './fixtures/child';

const cases: Array<[string, string, number]> = [];
for (const mode of MODES) for (const layout of ['main-loaded', 'worker-only']) cases.push([mode, layout, 0]);

test.concurrent.each(cases)('%s mode, %s: 32 workers terminated inside memctx calls', async (mode, layout) => {
  const seed = 1 + Math.floor(Math.random() * 1e6); // random instants; the seed is in the failure message
  const r = await runFixture('terminate.ts', [mode, layout, '32', String(seed)], { timeoutMs: 60_000 });
  const why = `seed ${seed}: ${describeExit(r)}`;
  expect({ fatal: r.stderr.includes('FATAL ERROR'), code: r.code, signal: r.signal, why: r.code === 0 ? '' : why })
    .toEqual({ fatal: false, code: 0, signal: null, why: '' });
  const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { terminated: number; distinctDelays: number };
  expect(report.terminated).toBe(32);
  expect(report.distinctDelays).toBeGreaterThan(3); // the instants did vary
}, 90_000);
