// test/js/rss.test.ts - RSS (VmRSS from /proc/self/status) falls back after the contexts of a
// spike are deleted and decayMs passes, with no call from the program: the C core's background
// thread runs the release policy, off the event loop (the unref'd timer only deletes parked trees).
// Each run is its own process, so nothing else in it moves RSS.
import { runFixture, lastJson } from './support/child';

interface RssResult {
  baseline: number;
  peak: number;
  rightAfter: number;
  later: number;
  mappedPeak: number;
  mappedLater: number;
  residentLater: number;
  releasedBytes: number;
  timerRuns: number;
  timerReleased: number;
}

const MiB = 1024 * 1024;

describe.each(['detach', 'reserve'])('release mode %s', (mode) => {
  test('RSS falls back near its baseline after delete + decay', async () => {
    const r = await runFixture('rss-decay.ts', [mode], ['--expose-gc']);
    expect(r.code).toBe(0);
    const res = lastJson<RssResult>(r);
    const spike = res.peak - res.baseline;
    expect(spike).toBeGreaterThan(100 * MiB); // 16 x (4 MB of small + 4 MiB large)
    expect(res.mappedPeak).toBeGreaterThan(100 * MiB);
    // released with no call: at least 85% of the spike is gone from VmRSS
    expect(res.peak - res.later).toBeGreaterThan(0.85 * spike);
    expect(res.later - res.baseline).toBeLessThan(24 * MiB);
    // what stays mapped is no longer resident (munmap or MADV_DONTNEED)
    expect(res.residentLater).toBeLessThan(16 * MiB);
    expect(res.releasedBytes).toBeGreaterThan(90 * MiB);
    expect(res.timerRuns).toBeGreaterThan(0);
    // ... and not by a pass on the event loop: the timer's ticks released nothing themselves
    expect(res.timerReleased).toBe(0);
  });
});
