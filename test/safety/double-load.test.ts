// test/safety/double-load.test.ts - owns safety case 5 (docs/RELIABILITY.md, section 7): the facade loaded twice in one thread
// (jest.isolateModules here; require-cache eviction in a child process and in a worker). Contexts
// of the two loads never share memory (each load's Buffers keep their bytes while the other load
// allocates, resets and deletes), and a context or Buffer of one load given to the other (parent,
// free, realloc, bindToStream) is refused with a TypeError coded ERR_INVALID_ARG_TYPE or
// ERR_INVALID_ARG_VALUE. Both release modes.
import type * as Facade from '../../lib';
import { MODES, runClean } from './fixtures/child';
import { checkTwoLoads, type DoubleLoadReport } from './fixtures/double-load-check';

function loadIsolated(): typeof Facade {
  let m: typeof Facade | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    m = require('../../lib') as typeof Facade;
  });
  return m!;
}

function expectSafe(r: DoubleLoadReport): void {
  expect(r.checked).toBeGreaterThan(50);
  expect(r.corrupted).toBe(0);
  expect(r.refusals).toHaveLength(5);
  for (const [what, name, code] of r.refusals) {
    expect({ what, name, coded: code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_INVALID_ARG_VALUE' })
      .toEqual({ what, name: 'TypeError', coded: true });
  }
}

describe.each([...MODES])('%s mode', (mode) => {
  test('two jest.isolateModules loads: separate memory, cross-load objects refused', () => {
    const A = loadIsolated();
    const B = loadIsolated();
    expect(A.MemoryContext).not.toBe(B.MemoryContext);
    expectSafe(checkTwoLoads(A, B, mode));
  });

  test('three loads, the first used again after the others loaded', () => {
    const A = loadIsolated();
    const B = loadIsolated();
    const C = loadIsolated();
    expectSafe(checkTwoLoads(C, A, mode));
    expectSafe(checkTwoLoads(A, B, mode));
  });

  test('require-cache eviction in a child process', async () => {
    expectSafe(await runClean<DoubleLoadReport>('double-load.ts', [mode]));
  });

  test('require-cache eviction inside a worker thread', async () => {
    expectSafe(await runClean<DoubleLoadReport>('double-load.ts', [mode, '--in-worker']));
  });
});
