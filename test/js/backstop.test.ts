// test/js/backstop.test.ts - forgotten contexts are released by the FinalizationRegistry backstop
// (and counted in memoryStats), never while one of their Buffers is still reachable; reserve mode
// parks a deleted context until its ArrayBuffers are collected; a context deleted in the synchronous
// stretch that made it is not kept for the backstop. Needs --expose-gc: a child process.
import { runFixture, lastJson } from './support/child';

test.each(['v8', 'napi'])('backstop and reserve-mode quarantine (%s ArrayBuffers)', async (maker) => {
  const r = await runFixture('backstop.ts', [maker], ['--expose-gc']);
  expect(r.code).toBe(0);
  const res = lastJson<Record<string, number | boolean>>(r);
  expect(res.backstop).toBeGreaterThanOrEqual(45); // 50 roots forgotten (children go with them)
  expect(res.heldOk).toBe(true);
  expect(res.contextsLeft).toBeLessThanOrEqual(1 + 5); // the held one, give or take GC timing
  expect(res.contextsLeft).toBeGreaterThanOrEqual(1);
  expect(res.quarantinedWhileHeld).toBe(1);
  expect(res.viewOk).toBe(true);
  expect(res.quarantinedAfter).toBe(0);
});

test('a context deleted in the stretch that made it is garbage at once; a live one still gets the backstop', async () => {
  const r = await runFixture('sync-retention.ts', [], ['--expose-gc']);
  expect(r.code).toBe(0);
  const res = lastJson<{ collectedInTurn: number; backstop: number; contextsLeft: number }>(r);
  expect(res.collectedInTurn).toBe(200); // all of them, by the GC of the same turn
  expect(res.backstop).toBe(1);
  expect(res.contextsLeft).toBe(0);
});
