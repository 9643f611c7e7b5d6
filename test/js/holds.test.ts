// test/js/holds.test.ts - the binding's holds on detach-mode chunk memory (what keeps a write by
// native code after delete() from crashing) end once V8 has collected the ArrayBuffers: a held
// dedicated mapping goes at memoryStats(), held top chunks go at trim().
import { lastJson, runFixture } from './support/child';

test('memoryStats() after a collection gives the holds back: freed large allocations are unmapped', async () => {
  const r = await runFixture('holds.ts', ['stats'], ['--expose-gc']);
  expect(r.stderr).toBe('');
  const { held, after } = lastJson<{ held: number; after: number }>(r);
  expect(held).toBe(4);
  expect(after).toBe(0);
});

test('trim() after a collection gives the holds back first: a spike of top chunks is unmapped in that call', async () => {
  const r = await runFixture('holds.ts', ['trim'], ['--expose-gc']);
  expect(r.stderr).toBe('');
  const { peak, after } = lastJson<{ peak: number; after: number }>(r);
  expect(peak).toBeGreaterThanOrEqual(64 << 20);
  // Without the holds given back first nothing is unmapped (after = peak). One top chunk may stay
  // until a later collection: some of the last buffers made outlive two collections (so with the
  // per-buffer weak callbacks of earlier builds too).
  expect(after).toBeLessThanOrEqual(peak - (32 << 20));
});
