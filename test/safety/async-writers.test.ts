// test/safety/async-writers.test.ts - owns issue 9 case 11: lifetime rule 1 broken on purpose. A
// context is deleted while crypto.randomFill, zlib.deflate/inflate, a zlib stream, fs.read or
// fs.write still uses one of its Buffers on the thread pool, then trim() runs and other contexts
// take the memory: the process must not crash (child process, exit 0, every case reports). The
// bytes are not promised, nor that a stream so starved completes (unsettled is only reported).
// Both release modes, large (dedicated mappings) and small (in-chunk) Buffers, in a worker too.
import { MODES, runClean } from './fixtures/child';

const OPS = ['randomFill', 'deflate', 'inflate', 'gzip-stream', 'fs-read', 'fs-write'];
const cases: Array<[string, string, string]> = [];
for (const op of OPS) for (const mode of MODES) for (const size of ['large', 'small']) cases.push([op, mode, size]);

test.concurrent.each(cases)('%s still busy on a deleted context (%s mode, %s Buffers), then trim(): no crash', async (op, mode, size) => {
  const r = await runClean<{ settled: number; unsettled: number }>('async-writers.ts', [op, mode, size], { timeoutMs: 60_000 });
  expect(r.settled + r.unsettled).toBeGreaterThan(0);
  if (r.unsettled > 0) console.log(`${op} ${mode} ${size}: ${r.unsettled} operation(s) never settled (not a crash)`);
}, 90_000);

const workerCases: Array<[string, string]> = [];
for (const op of ['randomFill', 'deflate', 'gzip-stream']) for (const mode of MODES) workerCases.push([op, mode]);

test.concurrent.each(workerCases)('inside a worker thread: %s on a deleted context (%s mode), then trim(): no crash', async (op, mode) => {
  const r = await runClean<{ settled: number; unsettled: number }>('async-writers.ts', [op, mode, 'large', '--in-worker'], { timeoutMs: 60_000 });
  expect(r.settled + r.unsettled).toBeGreaterThan(0);
}, 90_000);
