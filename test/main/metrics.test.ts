// test/main/metrics.test.ts - registerMetrics: memctx gauges in a prom-client registry, and the message when prom-client is absent.
import { Registry } from 'prom-client';
import { MemctxError } from '../../lib/errors';
import { registerMetrics } from '../../lib/metrics';

describe('registerMetrics (prom-client)', () => {
  test('exposes the allocator beside other metrics, read at scrape time', async () => {
    const { MemoryContext, memoryStats, trim } = await import('../../lib/index');
    const register = new Registry();
    const metrics = registerMetrics({ register });
    expect(metrics.names).toContain('memctx_mapped_bytes');
    const ctx = new MemoryContext({ name: 'metrics-test' });
    ctx.allocUnsafe(100_000).fill(1);
    // The background release thread may unmap an idle top chunk left by an earlier test while the
    // scrape runs: the gauge is the figure of one side of it.
    const mappedBefore = memoryStats().mappedBytes;
    const text = await register.metrics();
    const mappedAfter = memoryStats().mappedBytes;
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('memctx_mapped_bytes')).toBeGreaterThan(0);
    expect([mappedBefore, mappedAfter]).toContain(value('memctx_mapped_bytes'));
    expect(value('memctx_contexts')).toBeGreaterThanOrEqual(1);
    expect(value('memctx_process_rss_bytes')).toBeGreaterThan(value('memctx_resident_bytes'));
    expect(text).toMatch(/# HELP memctx_resident_bytes /);
    expect(text).toMatch(/^# TYPE memctx_resident_bytes gauge$/m);
    ctx.delete();
    trim();
    // One memoryStats() serves a whole scrape for 50 ms: wait for the next scrape to read afresh.
    await new Promise((r) => setTimeout(r, 60));
    // Cumulative figures are counters that follow the C counters across scrapes.
    const again = await register.metrics();
    for (const [name, field] of [['memctx_mmap_calls_total', 'mmapCalls'], ['memctx_munmap_calls_total', 'munmapCalls'], ['memctx_released_bytes_total', 'releasedBytes']] as const) {
      expect(again).toMatch(new RegExp(`^# TYPE ${name} counter$`, 'm'));
      expect(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(again)?.[1])).toBe(memoryStats()[field]);
    }
    expect(Number(/^memctx_munmap_calls_total (\S+)$/m.exec(again)?.[1])).toBeGreaterThanOrEqual(value('memctx_munmap_calls_total'));
    metrics.unregister();
    expect(await register.metrics()).not.toContain('memctx_');
  });

  test('a second registration under the same names fails clearly; a prefix avoids it', () => {
    const register = new Registry();
    const first = registerMetrics({ register });
    expect(() => registerMetrics({ register })).toThrow(MemctxError);
    expect(() => registerMetrics({ register })).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_METRIC_EXISTS', message: expect.stringMatching(/memctx_mapped_bytes is already registered/) }));
    const second = registerMetrics({ register, prefix: 'svc_memctx_' });
    expect(second.names[0]).toMatch(/^svc_memctx_/);
    first.unregister();
    second.unregister();
  });

  test('checks its options', () => {
    expect(() => registerMetrics({ prefix: '1bad' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/options\.prefix/) }));
    expect(() => registerMetrics({ register: {} as never })).toThrow(/options\.register.*prom-client Registry/);
  });

  test('without prom-client: one error that says how to install it', () => {
    jest.isolateModules(() => {
      jest.doMock('prom-client', () => {
        throw Object.assign(new Error("Cannot find module 'prom-client'"), { code: 'MODULE_NOT_FOUND' });
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const isolated = require('../../lib/metrics') as typeof import('../../lib/metrics');
      let caught: unknown = null;
      try {
        isolated.registerMetrics();
      } catch (err) {
        caught = err;
      }
      expect(caught).toEqual(expect.objectContaining({ name: 'MemctxError', code: 'ERR_MEMCTX_PROM_CLIENT_MISSING', message: expect.stringMatching(/npm install prom-client/) }));
    });
    jest.dontMock('prom-client');
  });
});
