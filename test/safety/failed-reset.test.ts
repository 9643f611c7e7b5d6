// test/safety/failed-reset.test.ts - owns safety case 6 (docs/RELIABILITY.md, section 7): after a reset() that failed (reserve
// mode: the OS refuses mappings, by the fault-injection hook; detach mode: external ArrayBuffers
// forbidden, by the testing hook), once the fault is lifted the context allocates again and every
// allocation gets its own memory (300 Buffers with their own patterns, none changed by another),
// and check() passes; a second reset() works. Runs in child processes (the hooks are
// process-wide), in the main thread and in a worker.
import { MODES, runClean } from './fixtures/child';

interface Report {
  resetFailed: boolean;
  resetError: { code: unknown } | null;
  allocated: number;
  aliased: number;
  problems: string[];
  checkError: unknown;
  secondReset?: unknown;
}

const where: Array<[string, string[]]> = [['main thread', []], ['worker thread', ['--in-worker']]];

describe.each(where)('%s', (_name, extra) => {
  test.concurrent.each([...MODES])('%s mode: allocations after a failed reset() never alias', async (mode) => {
    const r = await runClean<Report>('failed-reset.ts', [mode, 'alloc', ...extra], { timeoutMs: 60_000 });
    // a reset() that no longer needs what the hook takes away is fine; when it fails, it is coded
    if (r.resetFailed) expect(r.resetError).toMatchObject({ code: expect.stringMatching(/^ERR_MEMCTX_/) });
    else console.log(`${mode}: reset() did not fail under the hook; the allocations were checked anyway`);
    expect(r.problems).toEqual([]);
    expect(r.allocated).toBe(300);
    expect(r.aliased).toBe(0);
    expect(r.checkError).toBeNull();
  });

  test.concurrent.each([...MODES])('%s mode: reset() works again after a failed one', async (mode) => {
    const r = await runClean<Report>('failed-reset.ts', [mode, 'reset-again', ...extra], { timeoutMs: 60_000 });
    expect(r.secondReset).toBeUndefined();
    expect(r.problems).toEqual([]);
    expect(r.allocated).toBe(300);
    expect(r.aliased).toBe(0);
    expect(r.checkError).toBeNull();
  });
});
