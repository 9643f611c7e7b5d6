// test/js/config.test.ts - configure() sets the release policy and returns it; the maintenance
// timer is unref'd (a process holding a live context still exits by itself) and runs without calls.
import { spawnSync } from 'node:child_process';
import { configure, getConfiguration, memoryStats, MemoryContext } from '../../lib';
import { registerPath, repoRoot } from './support/child';

test('configure() applies and reports topChunkSize, retainBytes, decayMs, releaseMode', () => {
  const before = getConfiguration();
  try {
    const after = configure({ topChunkSize: 8 * 1024 * 1024, retainBytes: 2 * 1024 * 1024, decayMs: 400, releaseMode: 'reserve' });
    expect(after).toMatchObject({ topChunkSize: 8 * 1024 * 1024, retainBytes: 2 * 1024 * 1024, decayMs: 400, releaseMode: 'reserve' });
    expect(after.maintenanceIntervalMs).toBe(100); // decayMs / 4
    expect(new MemoryContext().releaseMode).toBe('reserve');
    expect(getConfiguration()).toEqual(after);
  } finally {
    configure({ topChunkSize: before.topChunkSize, retainBytes: before.retainBytes, decayMs: before.decayMs, releaseMode: before.releaseMode });
  }
  expect(getConfiguration()).toEqual(before);
});

test('the timer runs by itself and never keeps the process alive', () => {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['-r', registerPath, '-e', `
    const { MemoryContext, configure, memoryStats } = require('./lib/index.ts');
    configure({ decayMs: 40 });
    const ctx = new MemoryContext(); // live until exit: the timer must not hold the process
    ctx.alloc(1000);
    setTimeout(() => console.log(memoryStats().timerMaintainRuns), 300);
  `], { cwd: repoRoot, encoding: 'utf8', timeout: 30000 });
  expect(r.status).toBe(0);
  expect(Number(r.stdout.trim())).toBeGreaterThan(3); // every 10 ms, unasked
  expect(Date.now() - t0).toBeLessThan(25000);
  expect(memoryStats().maintenanceIntervalMs).toBeGreaterThan(0);
});
