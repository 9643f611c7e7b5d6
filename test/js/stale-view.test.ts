// test/js/stale-view.test.ts - stale views after reset()/delete() read nothing later allocations
// write and cannot crash the process; run in child processes so that a crash fails the test.
import { runFixture, lastJson } from './support/child';

interface StaleResult {
  mode: string;
  checks: number;
  leakedMarkers: number;
  errors: string[];
  poolOk: boolean;
  readsAfter: number[];
}

// 'napi': ArrayBuffers made through Node-API (finalizers instead of V8 deleters), as in builds
// without node's V8 headers.
describe.each([['detach', 'v8'], ['reserve', 'v8'], ['detach', 'napi'], ['reserve', 'napi']])('release mode %s, %s ArrayBuffers', (mode, maker) => {
  test('stale Buffers, subarrays and DataViews never see new data and never crash', async () => {
    const r = await runFixture('stale-views.ts', [mode, maker]);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    const res = lastJson<StaleResult>(r);
    expect(res.checks).toBeGreaterThan(30);
    expect(res.errors).toEqual([]);
    expect(res.leakedMarkers).toBe(0);
    expect(res.poolOk).toBe(true);
    expect(r.stderr).toContain('console still works');
    if (mode === 'detach') expect(res.readsAfter).toEqual([0, 0]);
    else expect(res.readsAfter[0]).toBeGreaterThan(0); // reserve: the old bytes stay, unshared
  });
});
