// test/safety/zeroing.test.ts - owns safety case 10 (docs/RELIABILITY.md, section 7): memory handed to a context never holds bytes
// of an earlier context. After context A (and a child) wrote the secret across many allocations
// and was deleted (or reset), Buffers from alloc() and allocUnsafe() of new contexts B (same and
// other first-chunk sizes, children too; or of A itself after its reset) never show the secret:
// not in the Buffer, not in its whole buf.buffer, not in structuredClone(buf), not in a
// MessagePort copy; nor when A's code wrote the secret over its whole chunks through buf.buffer,
// above its allocations too. A context's own alloc() returns zeros after free() and realloc() gave
// bytes back. Contexts that die without delete() (the backstop, a worker exiting) leak nothing either.
// Both release modes; in jest and in a worker thread.
import { MODES, runClean } from './fixtures/child';
import { allocAfterFree, scanForSecrets, type ZeroReport } from './fixtures/zeroing-cases';

const cases: Array<[string, 'delete' | 'reset', string]> = [];
for (const mode of MODES) for (const after of ['delete', 'reset'] as const) for (const kind of ['alloc', 'allocUnsafe']) cases.push([mode, after, kind]);

test.each(cases)('%s mode, after A.%s(), B.%s(): no secret anywhere', async (mode, after, kind) => {
  const r = await scanForSecrets(mode as 'detach', after, kind === 'allocUnsafe');
  expect(r.scanned).toBeGreaterThan(100);
  expect(r.leaks).toEqual([]);
});

const wholeChunk: Array<[string, 'delete' | 'reset']> = [];
for (const mode of MODES) for (const after of ['delete', 'reset'] as const) wholeChunk.push([mode, after]);

test.concurrent.each(wholeChunk)('%s mode, the secret written through buf.buffer over whole chunks, then A.%s(): new contexts get zeros', async (mode, after) => {
  const r = await runClean<ZeroReport>('zeroing-whole-chunk.ts', [mode, after], { nodeFlags: ['--expose-gc'], timeoutMs: 60_000 });
  expect(r.scanned).toBe(8 * (after === 'reset' ? 7 : 6) * 40);
  expect(r.leaks).toEqual([]);
});

test.concurrent.each(MODES.map((m) => [m] as [string]))('%s mode inside a worker thread', async (mode) => {
  for (const kind of ['alloc', 'allocUnsafe']) {
    const r = await runClean<ZeroReport>('zeroing.ts', [mode, 'delete', kind, '--in-worker']);
    expect(r.leaks).toEqual([]);
  }
});

test.each(MODES.map((m) => [m] as [string]))('%s mode: alloc() returns zeros after free() and realloc() gave written bytes back', (mode) => {
  const r = allocAfterFree(mode as 'detach');
  expect(r.scanned).toBe(600);
  expect(r.leaks).toEqual([]);
});

const unreported: Array<[string, string]> = [];
for (const mode of MODES) for (const how of ['backstop', 'backstop-kept', 'worker-exit']) unreported.push([mode, how]);

test.concurrent.each(unreported)('%s mode, contexts never deleted (%s): no secret in new contexts', async (mode, how) => {
  const r = await runClean<ZeroReport>('zeroing-unreported.ts', [mode, how], { nodeFlags: ['--expose-gc'], timeoutMs: 60_000 });
  expect(r.scanned).toBe(800);
  expect(r.leaks).toEqual([]);
});
