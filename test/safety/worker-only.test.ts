// test/safety/worker-only.test.ts - owns safety case 3 (docs/RELIABILITY.md, section 7): the worker-pool layout, where only worker
// threads load memctx. Workers exit with an undeleted context, after a correct delete(), or a mix,
// one at a time and three at once, four rounds, in both release modes: every worker ends with
// code 0 and the process exits 0 (no SIGSEGV from code unloaded under V8). Runs in child processes.
import { MODES, runClean } from './fixtures/child';

interface Report { exits: number; okCount: number; facadeLoaded: boolean }

const cases: Array<[string, string]> = [];
for (const mode of MODES) for (const end of ['undeleted', 'deleted', 'mixed']) cases.push([mode, end]);

test.concurrent.each(cases)('%s mode: workers exit with their contexts %s', async (mode, end) => {
  const r = await runClean<Report>('worker-only.ts', [mode, end, '4']);
  expect(r.facadeLoaded).toBe(false); // the layout under test: the main thread never loaded it
  expect(r.exits).toBe(16);
  expect(r.okCount).toBe(16);
});
