// test/js/holds.test.ts - the binding's holds on detach-mode chunk memory (what keeps a write by
// native code after delete() from crashing) end once V8 has collected the ArrayBuffers: checked
// through large allocations, whose dedicated mappings stay while held.
import { lastJson, runFixture } from './support/child';

test.each([['trim'], ['stats']])('collected buffers stop holding their memory: %s() after a collection unmaps it', async (how) => {
  const r = await runFixture('holds.ts', [how], ['--expose-gc']);
  expect(r.stderr).toBe('');
  const { heldWhileAlive, after } = lastJson<{ heldWhileAlive: number; after: number }>(r);
  expect(heldWhileAlive).toBe(4);
  expect(after).toBe(0);
});
