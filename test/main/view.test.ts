// test/main/view.test.ts - the live view of npm start: charts and bars on a terminal, plain lines otherwise.
import { Writable } from 'node:stream';
import type { DemoSample } from '../../demo/src/protocol';
import { LiveView } from '../../demo/src/view';

const MiB = 1024 * 1024;

/** A writable that says it is a terminal of the given width and keeps what is written. */
function fakeTerminal(isTTY: boolean, columns = 140): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  }) as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number };
  w.isTTY = isTTY;
  w.columns = columns;
  // eslint-disable-next-line no-control-regex
  return { stream: w, text: () => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') };
}

function sample(label: string, timeMs: number, rssMiB: number): DemoSample {
  return {
    type: 'sample', label, pid: 1, timeMs, elapsedMs: 0, intervalMs: 100, rssBytes: rssMiB * MiB, rssAnonBytes: null, rssFileBytes: null,
    heapUsedBytes: MiB, heapTotalBytes: MiB, externalBytes: 0, arrayBuffersBytes: 0,
    mappedBytes: label === 'memctx' ? 12 * MiB : null, residentBytes: null, topChunkCount: null, contextCount: null,
    requests: 100, aborted: 0, inFlight: 3, inFlightMax: 5, reqPerSec: 1000, latencyP50Ms: 1, latencyP99Ms: 4.5, latencyMaxMs: 9,
    gcCount: 0, gcPauseMs: 0, gcMaxPauseMs: 0, cpuPercent: 50,
    eventLoopDelayP99Ms: 10.5, eventLoopDelayMaxMs: 12, minorFaults: 10, majorFaults: 0, requestBytes: 3 * MiB, requestBytesMax: 3 * MiB,
  };
}

const phases = [
  { name: 'warmup', durationMs: 1000 },
  { name: 'rampup', durationMs: 2000 },
  { name: 'hold', durationMs: 2000 },
  { name: 'rampdown', durationMs: 1000 },
  { name: 'idle', durationMs: 2000 },
];

describe('live view', () => {
  const modes = ['memctx', 'baseline', 'trim'] as const;

  /** Samples every 100 ms for `count` samples (80 cover the whole 8 s run: a full-width chart). */
  function feed(view: LiveView, count = 40): void {
    const t0 = Date.now();
    for (const m of modes) view.onPhase(m, 'warmup', t0, 1);
    for (let i = 0; i < count; i++) {
      if (i === 30) view.onPhase('memctx', 'hold', t0 + 3000, 8);
      view.onSample('memctx', sample('memctx', t0 + i * 100, 60 + i));
      view.onSample('baseline', sample('baseline', t0 + i * 100, 60 + 2 * i));
      view.onSample('trim', sample('trim', t0 + i * 100, 60 + 1.5 * i));
    }
  }

  test('on a terminal: one chart of every mode, the phase strip and legend, a bar and a status line per mode', async () => {
    const term = fakeTerminal(true, 100);
    const view = new LiveView({ modes: [...modes], modeDurationMs: 8000, phases, tty: true, out: term.stream });
    feed(view);
    await new Promise((r) => setTimeout(r, 300));
    view.stop();
    const text = term.text();
    expect(text).toMatch(/RSS of each mode over the run, MiB\s+── memctx\s+── baseline\s+── trim/);
    // asciichart's axis and line glyphs, the MiB labels.
    expect(text).toMatch(/MiB\s+[┤┼]/);
    expect(text).toMatch(/[╭╮╯╰─]/);
    expect(text).toContain('w'.repeat(5));
    expect(text).toMatch(/phases: {2}w warm-up {2}\/ ramp up {2}= hold {2}\\ ramp down {2}\. idle/);
    expect(text).toMatch(/memctx\s+█+░*\s+\d+%\s+hold 3\.9 s\s+8 connections/);
    expect(text).toMatch(/\s+RSS 99\.0 MiB {2}mapped 12\.0 {2}in flight 3\.0 {2}1000 req\/s {2}p99 4\.50 ms {2}loop p99 10\.5 ms/);
    expect(text).toMatch(/baseline\s+█+░*\s+\d+%\s+warmup 3\.9 s/);
    expect(text).toMatch(/RSS 138\.0 MiB {2}in flight 3\.0/);
  });

  test.each([60, 80, 100, 140])('every line fits a terminal %i columns wide', async (columns) => {
    const term = fakeTerminal(true, columns);
    const view = new LiveView({ modes: [...modes], modeDurationMs: 8000, phases, tty: true, out: term.stream });
    feed(view, 80);
    const lines = view.lines(columns);
    view.stop();
    // eslint-disable-next-line no-control-regex
    const widths = lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').length);
    expect(Math.max(...widths)).toBeLessThanOrEqual(columns);
    // The chart uses the width it is given: a full plot reaches the last column or one short of it.
    expect(Math.max(...widths)).toBeGreaterThanOrEqual(columns - 1);
    expect(lines.some((l) => l.includes('w'.repeat(Math.floor((columns - 20) / 8))))).toBe(true);
    expect(lines.some((l) => l.startsWith('phases:'))).toBe(true);
  });

  test('a resized terminal gets a cleared screen and a block built to its new width', () => {
    const term = fakeTerminal(true, 120);
    const raw: string[] = [];
    const write = term.stream.write.bind(term.stream);
    (term.stream as unknown as { write: (s: string) => boolean }).write = (chunk: string) => {
      raw.push(chunk);
      return write(chunk);
    };
    const view = new LiveView({ modes: [...modes], modeDurationMs: 8000, phases, tty: true, out: term.stream });
    feed(view, 80);
    (term.stream as unknown as { columns: number }).columns = 70;
    raw.length = 0;
    term.stream.emit('resize');
    view.stop();
    expect(raw[0]).toBe('\x1b[2J\x1b[H');
    // eslint-disable-next-line no-control-regex
    const frame = raw[1].replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split('\n');
    expect(Math.max(...frame.map((l) => l.length))).toBeLessThanOrEqual(70);
    expect(term.stream.listenerCount('resize')).toBe(0);
  });

  test('without a terminal: a line per phase change and about one status line per mode and second, within 100 columns', () => {
    const term = fakeTerminal(false);
    const view = new LiveView({ modes: ['memctx'], modeDurationMs: 8000, phases, tty: false, out: term.stream });
    const t0 = 1_700_000_000_000;
    view.onPhase('memctx', 'warmup', t0, 1);
    for (let i = 0; i <= 30; i++) view.onSample('memctx', sample('memctx', t0 + i * 100, 70));
    view.onPhase('memctx', 'rampup', t0 + 3000, 4);
    view.stop();
    const lines = term.text().trim().split('\n');
    expect(lines[0]).toBe('[memctx] warmup starts at 0.0 s, 1 connections');
    expect(lines.filter((l) => l.includes('RSS 70.0 MiB')).length).toBe(4);
    expect(lines[lines.length - 1]).toBe('[memctx] rampup starts at 3.0 s, 4 connections');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(term.text()).not.toMatch(/[┤┼█]/);
  });
});
