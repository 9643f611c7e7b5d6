// test/js/trace.test.ts - NODE_DEBUG=memctx traces what the allocator did (top chunks mapped and
// unmapped, release passes and the bytes they gave back, the parked trees) from the timer and trim(); and
// nothing is printed without it.
import { runFixture } from './support/child';

test('NODE_DEBUG=memctx traces maps, unmaps and release passes from the timer and trim()', async () => {
  const r = await runFixture('trace.ts', [], ['--expose-gc'], { NODE_DEBUG: 'memctx' });
  expect(r.code).toBe(0);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('MEMCTX '));
  expect(lines.some((l) => /timer: \d+ mmap, \d+ munmap, \d+ madvise; mapped \d+ bytes/.test(l))).toBe(true);
  expect(lines.some((l) => / release pass\(es\) gave back [1-9]\d* bytes/.test(l))).toBe(true);
  expect(lines.some((l) => /^MEMCTX \d+: trim: /.test(l))).toBe(true);
  // the spike's mappings are counted (the first line starts from the counters at load)
  expect(lines.some((l) => /: [1-9]\d* mmap/.test(l))).toBe(true);
  // the spike's memory goes back: some line reports unmaps or madvises
  expect(lines.some((l) => /[1-9]\d* munmap|[1-9]\d* madvise/.test(l))).toBe(true);
});

test('without NODE_DEBUG nothing is traced', async () => {
  const r = await runFixture('trace.ts', [], ['--expose-gc'], { NODE_DEBUG: '' });
  expect(r.code).toBe(0);
  expect(r.stderr).not.toContain('MEMCTX');
});
