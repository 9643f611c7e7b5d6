// test/reliability/workers.test.ts - owns the worker-thread stress test: 8 workers (and the main
// thread) do random operations with content checks on their own contexts at the same time, for a
// bounded time (MEMCTX_REL_SECONDS, default 4 s), all on the one shared top-chunk layer: no
// corruption, no crash, every mcx_check passes, and the contexts are all gone afterwards.
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { MemoryContext, memoryStats } from '../../lib';
import { fillPattern, firstBadByte, relSeconds } from './support/pattern';

const WORKERS = 8;
const fixture = path.join(__dirname, 'fixtures', 'random-ops-worker.ts');
const register = path.join(__dirname, 'support', 'register.js');

interface Result { id: number; ops: number; corrupt: number; firstCorruption: string; checkFailures: number; errors: string[] }

test(`${WORKERS} workers doing random operations with content checks at once`, async () => {
  const seconds = relSeconds(4);
  const before = memoryStats();
  const workers = Array.from({ length: WORKERS }, (_, id) =>
    new Worker(fixture, { workerData: { id, seconds, seed: 1000 + id }, execArgv: ['-r', register] }));
  const failure = (w: Worker): Promise<never> => new Promise((_, reject) => {
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
  });
  const next = (w: Worker): Promise<unknown> => Promise.race([new Promise((r) => w.once('message', r)), failure(w)]);
  // wait until every worker has loaded (transpiling the facade takes a while), then start them together
  await Promise.all(workers.map(next));
  const results = workers.map((w) => next(w) as Promise<Result>);
  for (const w of workers) w.postMessage('go');
  // the main thread keeps a context busy meanwhile, on the same top-chunk layer
  const mine = new MemoryContext({ name: 'main-thread' });
  const kept = mine.allocUnsafe(300_000);
  fillPattern(kept, 4242);
  const deadline = Date.now() + seconds * 1000;
  let mainOps = 0;
  while (Date.now() < deadline) {
    const tmp = mine.createChild({ name: 'main-child' });
    for (let i = 0; i < 200; i++, mainOps++) fillPattern(tmp.allocUnsafe(i * 7), mainOps);
    tmp.delete();
    await new Promise((r) => setImmediate(r));
  }
  const all = await Promise.all(results);
  await Promise.all(workers.map((w) => new Promise((r) => (w.threadId < 0 ? r(0) : w.once('exit', r)))));
  let totalOps = 0;
  for (const r of all) {
    expect(r.errors).toEqual([]);
    expect(r.firstCorruption).toBe('');
    expect(r.corrupt).toBe(0);
    expect(r.checkFailures).toBe(0);
    expect(r.ops).toBeGreaterThan(500);
    totalOps += r.ops;
  }
  expect(firstBadByte(kept, 4242)).toBe(-1);
  mine.check();
  mine.delete();
  // every worker deleted its contexts: the count is back where it was, or lower (trees parked by
  // earlier test files in this process may be deleted meanwhile)
  expect(memoryStats().contextCount).toBeLessThanOrEqual(before.contextCount);
  console.log(`workers: ${WORKERS} x ${seconds} s, ${totalOps} operations in workers, ${mainOps} in the main thread, no corruption`);
}, 120_000);
