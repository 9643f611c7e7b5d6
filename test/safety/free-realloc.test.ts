// test/safety/free-realloc.test.ts - owns safety case 7 (docs/RELIABILITY.md, section 7): free()/realloc() refuse what is not a
// live allocation handed out by the context: interior views (Uint8Array.prototype.subarray.call,
// new buf.constructor(...), Reflect.construct) with TypeError ERR_INVALID_ARG_VALUE; a Buffer
// freed again after its memory was reused, the old Buffer after realloc, realloc of a freed Buffer
// and a double free of a large allocation with MemctxError ERR_MEMCTX_DOUBLE_FREE; a Proxy with
// TypeError ERR_INVALID_ARG_TYPE. After each refusal, 200 more allocations never overlap a live
// Buffer. Both release modes, in this thread and in a worker thread.
import { FREE_CASES, runFreeCase, type CaseResult } from './fixtures/free-cases';
import { MODES, runClean } from './fixtures/child';

const names = Object.keys(FREE_CASES);

function expectRefusedAndSafe(name: string, r: CaseResult | { thrown: string }): void {
  const [, want] = FREE_CASES[name]!;
  expect(r).not.toHaveProperty('thrown');
  const res = r as CaseResult;
  expect(res.error).toMatchObject({ name: want.name, code: want.code });
  expect(res.overlaps).toBe(0);
  expect(res.damaged).toBe(0);
  expect(res.checkError).toBeNull();
}

describe.each([...MODES])('%s mode', (mode) => {
  test.each(names)('%s', (name) => {
    expectRefusedAndSafe(name, runFreeCase(name, mode));
  });

  test('every case inside a worker thread', async () => {
    const results = await runClean<Record<string, CaseResult | { thrown: string }>>('free-realloc-worker.ts', [mode, '--in-worker']);
    const failing: string[] = [];
    for (const name of names) {
      try {
        expectRefusedAndSafe(name, results[name]!);
      } catch {
        failing.push(name);
      }
    }
    expect(failing).toEqual([]);
  });
});
