// test/main/view.test.ts - the live view of npm start: charts and bars on a terminal, plain lines otherwise.
import { Writable } from 'node:stream';
import type { MonitorSample } from '../../lib/monitor';
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
  // cli-progress moves the cursor through readline on this stream.
  Object.assign(w, { cursorTo: () => true, moveCursor: () => true, clearLine: () => true, clearScreenDown: () => true });
  // eslint-disable-next-line no-control-regex
  return { stream: w, text: () => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') };
}

function sample(label: string, timeMs: number, rssMiB: number): MonitorSample {
  return {
    type: 'sample', label, pid: 1, timeMs, elapsedMs: 0, intervalMs: 100, rssBytes: rssMiB * MiB, rssAnonBytes: null, rssFileBytes: null,
    heapUsedBytes: MiB, heapTotalBytes: MiB, externalBytes: 0, arrayBuffersBytes: 0,
    mappedBytes: label === 'memctx' ? 12 * MiB : null, residentBytes: null, topChunkCount: null, contextCount: null,
    requests: 100, aborted: 0, inFlight: 3, inFlightMax: 5, reqPerSec: 1000, latencyP50Ms: 1, latencyP99Ms: 4.5, latencyMaxMs: 9,
    gcCount: 0, gcPauseMs: 0, gcMaxPauseMs: 0, cpuPercent: 50,
    eventLoopDelayP99Ms: 10.5, eventLoopDelayMaxMs: 12, minorFaults: 10, majorFaults: 0,
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
  test('on a terminal: both RSS charts side by side, the phase strip, one progress bar per mode', async () => {
    const term = fakeTerminal(true);
    const view = new LiveView({ modes: ['memctx', 'baseline'], modeDurationMs: 8000, phases, tty: true, out: term.stream });
    const t0 = Date.now();
    view.onPhase('memctx', 'warmup', t0, 1);
    view.onPhase('baseline', 'warmup', t0, 1);
    for (let i = 0; i < 40; i++) {
      if (i === 30) view.onPhase('memctx', 'hold', t0 + 3000, 8);
      view.onSample('memctx', sample('memctx', t0 + i * 100, 60 + i));
      view.onSample('baseline', sample('baseline', t0 + i * 100, 60 + 2 * i));
    }
    await new Promise((r) => setTimeout(r, 400));
    view.stop();
    const text = term.text();
    const titles = text.split('\n').filter((l) => l.includes('memctx RSS (MiB)') && l.includes('baseline RSS (MiB)'));
    expect(titles.length).toBeGreaterThan(0);
    // asciichart's axis and line glyphs, the MiB labels, and the two bars with their figures.
    expect(text).toMatch(/MiB\s+[┤┼]/);
    expect(text).toMatch(/[╭╮╯╰─]/);
    expect(text).toContain('w'.repeat(5));
    expect(text).toMatch(/memctx\s+.*\d+% \| hold .*RSS\s+99\.0 MiB \| mapped\s+12\.0 MiB \|\s+1000 req\/s \| p99\s+4\.5 ms \|\s+8 conns/);
    expect(text).toMatch(/baseline .*\d+% \| warmup .*RSS\s+138\.0 MiB \| mapped\s+-/);
  });

  test('without a terminal: a line per phase change and about one status line per mode and second', () => {
    const term = fakeTerminal(false);
    const view = new LiveView({ modes: ['memctx'], modeDurationMs: 8000, phases, tty: false, out: term.stream });
    const t0 = 1_700_000_000_000;
    view.onPhase('memctx', 'warmup', t0, 1);
    for (let i = 0; i <= 30; i++) view.onSample('memctx', sample('memctx', t0 + i * 100, 70));
    view.onPhase('memctx', 'rampup', t0 + 3000, 4);
    view.stop();
    const lines = term.text().trim().split('\n');
    expect(lines[0]).toBe('[memctx] warmup starts at 0.0 s, 1 connections');
    expect(lines.filter((l) => l.includes('RSS   70.0 MiB')).length).toBe(4);
    expect(lines[lines.length - 1]).toBe('[memctx] rampup starts at 3.0 s, 4 connections');
    expect(term.text()).not.toMatch(/[┤┼█]/);
  });
});
