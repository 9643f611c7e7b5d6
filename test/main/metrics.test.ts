// test/main/metrics.test.ts - registerMetrics: memctx gauges in a prom-client registry, and the message when prom-client is absent.
import { Registry } from 'prom-client';
import { registerMetrics } from '../../lib/metrics';

describe('registerMetrics (prom-client)', () => {
  test('exposes the allocator beside other metrics, read at scrape time', async () => {
    const { MemoryContext, memoryStats } = await import('../../lib/index');
    const register = new Registry();
    const metrics = registerMetrics({ register });
    expect(metrics.names).toContain('memctx_mapped_bytes');
    const ctx = new MemoryContext({ name: 'metrics-test' });
    ctx.allocUnsafe(100_000).fill(1);
    const text = await register.metrics();
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('memctx_mapped_bytes')).toBeGreaterThan(0);
    expect(value('memctx_mapped_bytes')).toBe(memoryStats().mappedBytes);
    expect(value('memctx_contexts')).toBeGreaterThanOrEqual(1);
    expect(value('memctx_process_rss_bytes')).toBeGreaterThan(value('memctx_resident_bytes'));
    expect(text).toMatch(/# HELP memctx_resident_bytes /);
    ctx.delete();
    metrics.unregister();
    expect(await register.metrics()).not.toContain('memctx_');
  });

  test('a second registration under the same names fails clearly; a prefix avoids it', () => {
    const register = new Registry();
    const first = registerMetrics({ register });
    expect(() => registerMetrics({ register })).toThrow(expect.objectContaining({ code: 'ERR_MEMCTX_METRIC_EXISTS' }));
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
      expect(() => isolated.registerMetrics()).toThrow(
        expect.objectContaining({ code: 'ERR_MEMCTX_PROM_CLIENT_MISSING', message: expect.stringMatching(/npm install prom-client/) }),
      );
    });
    jest.dontMock('prom-client');
  });
});
