// demo/src/view.ts - the live terminal view of npm start: one RSS chart of every mode (asciichart), the phase strip and legend, a progress bar and status line per mode; plain lines when not a TTY.
//
// On a terminal the view is a block of lines redrawn in place four times a second (cursor up,
// clear, rewrite). Every line is built to the terminal's current width (at least 60 columns), so
// nothing is cut or wrapped: the chart's plot area, the phase strip and the bars follow the
// width, and status fields that do not fit are left off from the end. Without a TTY (CI, pipes)
// the view prints a phase line at each phase change and one status line per mode and second, each
// within 100 columns.
import * as asciichart from 'asciichart';
import { sig3 } from '../../dist/report/table';
import type { DemoSample } from './protocol';
import type { Mode } from './alloc';

const MiB = 1024 * 1024;
const CHART_ROWS = 10; // asciichart height; it draws CHART_ROWS + 1 rows
const PLAIN_COLUMNS = 100;
const MIN_COLUMNS = 60;
const LABEL_WIDTH = 9;
const CHART_OPTIONS = {
  height: CHART_ROWS,
  min: 0,
  offset: LABEL_WIDTH + 1,
  format: (x: number): string => `${x.toFixed(0).padStart(LABEL_WIDTH - 4)} MiB`,
};
/** Columns asciichart puts before the plot (labels, axis): measured once, so a full plot fits. */
const CHART_MARGIN = (() => {
  const probe = asciichart.plot([0, 1], { ...CHART_OPTIONS, max: 9999 }).split('\n');
  return Math.max(...probe.map((l) => l.length)) - 2;
})();
const COLORS: Record<Mode, string> = { memctx: asciichart.green, baseline: asciichart.yellow, trim: asciichart.magenta };
const PHASE_MARK: Record<string, string> = { warmup: 'w', rampup: '/', hold: '=', rampdown: '\\', trickle: 't', idle: '.', return: 'r' };
const PHASE_WORDS: Record<string, string> = {
  warmup: 'warm-up', rampup: 'ramp up', hold: 'hold', rampdown: 'ramp down', trickle: 'trickle', idle: 'idle', return: 'return',
};

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visible = (s: string): number => s.replace(ANSI, '').length;

/** Fields joined by two spaces, leaving off fields from the end until the line fits `width`. */
export function fitFields(fields: readonly string[], width: number): string {
  const kept = fields.slice();
  let line = kept.join('  ');
  while (kept.length > 1 && visible(line) > width) {
    kept.pop();
    line = kept.join('  ');
  }
  return line;
}

interface ModeState {
  mode: Mode;
  samples: DemoSample[];
  startMs: number | null;
  phase: string;
  connections: number;
  lastLineMs: number;
  done: boolean;
}

export interface ViewOptions {
  modes: Mode[];
  /** Planned length of one mode's run, ms. */
  modeDurationMs: number;
  phases: { name: string; durationMs: number }[];
  tty: boolean;
  out?: NodeJS.WriteStream;
}

const mb = (bytes: number | null): string => (bytes === null ? '-' : (bytes / MiB).toFixed(1));

export class LiveView {
  readonly #opts: ViewOptions;
  readonly #out: NodeJS.WriteStream;
  readonly #states = new Map<Mode, ModeState>();
  #drawnLines = 0;
  #redraw: NodeJS.Timeout | null = null;
  // A resized terminal rewraps the block already drawn, so moving up by its line count would land
  // in the wrong place: start again from a cleared screen instead.
  readonly #onResize = (): void => {
    this.#out.write('\x1b[2J\x1b[H');
    this.#drawnLines = 0;
    this.#render();
  };

  constructor(opts: ViewOptions) {
    this.#opts = opts;
    this.#out = opts.out ?? process.stdout;
    for (const mode of opts.modes) {
      this.#states.set(mode, { mode, samples: [], startMs: null, phase: 'waiting', connections: 0, lastLineMs: 0, done: false });
    }
    if (opts.tty) {
      this.#out.write('\x1b[?25l'); // hide the cursor while redrawing
      this.#out.on('resize', this.#onResize);
      this.#render();
      this.#redraw = setInterval(() => this.#render(), 250);
    }
  }

  onPhase(mode: Mode, name: string, atMs: number, connections: number): void {
    const st = this.#states.get(mode);
    if (st === undefined) return;
    if (st.startMs === null) st.startMs = atMs;
    st.phase = name;
    st.connections = connections;
    if (!this.#opts.tty) {
      this.#out.write(`[${mode}] ${name} starts at ${((atMs - st.startMs) / 1000).toFixed(1)} s, ${connections} connections\n`);
    }
  }

  onConnections(mode: Mode, connections: number): void {
    const st = this.#states.get(mode);
    if (st !== undefined) st.connections = connections;
  }

  onSample(mode: Mode, sample: DemoSample): void {
    const st = this.#states.get(mode);
    if (st === undefined) return;
    st.samples.push(sample);
    if (st.startMs === null || this.#opts.tty) return;
    if (sample.timeMs - st.lastLineMs >= 1000) {
      st.lastLineMs = sample.timeMs;
      this.#out.write(fitFields([`[${mode}] ${st.phase} ${this.#elapsed(st, sample).toFixed(1)} s`, ...this.#figures(sample)], PLAIN_COLUMNS) + '\n');
    }
  }

  onModeDone(mode: Mode): void {
    const st = this.#states.get(mode);
    if (st !== undefined) st.done = true;
  }

  #elapsed(st: ModeState, sample: DemoSample): number {
    return (sample.timeMs - (st.startMs ?? sample.timeMs)) / 1000;
  }

  /** The status figures of a sample, most important first (the tail is dropped when narrow). */
  #figures(s: DemoSample): string[] {
    return [
      `RSS ${mb(s.rssBytes)} MiB`,
      ...(s.mappedBytes !== null ? [`mapped ${mb(s.mappedBytes)}`] : []),
      `in flight ${mb(s.requestBytes ?? null)}`,
      `${s.reqPerSec.toFixed(0)} req/s`,
      `p99 ${sig3(s.latencyP99Ms, ' ms')}`,
      `loop p99 ${sig3(s.eventLoopDelayP99Ms, ' ms')}`,
    ];
  }

  /** Per-column maximum RSS (MiB) over the planned duration; only columns already reached. */
  #columns(st: ModeState, width: number): number[] {
    const start = st.startMs;
    if (start === null || st.samples.length === 0) return [];
    const binMs = this.#opts.modeDurationMs / width;
    const binOf = (timeMs: number): number => Math.min(width - 1, Math.floor((timeMs - start) / binMs));
    const last = binOf(st.samples[st.samples.length - 1].timeMs);
    if (last < 0) return [];
    const cols = new Array<number>(last + 1).fill(NaN);
    for (const s of st.samples) {
      const i = binOf(s.timeMs);
      if (i < 0) continue;
      const v = s.rssBytes / MiB;
      cols[i] = Number.isNaN(cols[i]) ? v : Math.max(cols[i], v);
    }
    // Bins without a sample (interval longer than a column) repeat their left neighbour.
    const first = cols.find((v) => !Number.isNaN(v)) ?? 0;
    for (let i = 0; i < cols.length; i++) if (Number.isNaN(cols[i])) cols[i] = i > 0 ? cols[i - 1] : first;
    return cols;
  }

  #phaseStrip(width: number): string {
    let strip = '';
    let t = 0;
    const total = this.#opts.modeDurationMs;
    for (const p of this.#opts.phases) {
      const from = Math.round((t / total) * width);
      t += p.durationMs;
      const to = Math.round((t / total) * width);
      strip += (PHASE_MARK[p.name] ?? '?').repeat(Math.max(0, to - from));
    }
    return strip;
  }

  /** The whole block of lines for a terminal `columns` wide. */
  lines(columns: number): string[] {
    const width = Math.max(MIN_COLUMNS, columns);
    const plotWidth = width - CHART_MARGIN;
    const modes = this.#opts.modes;
    const data = modes.map((m) => this.#columns(this.#states.get(m) as ModeState, plotWidth));
    const drawn = modes.map((m, i) => ({ mode: m, series: data[i] })).filter((d) => d.series.length > 0);
    const max = Math.max(16, ...data.flat()) * 1.05;
    let chart: string[];
    if (drawn.length === 0) {
      chart = Array.from({ length: CHART_ROWS + 1 }, (_, r) => (r === CHART_ROWS >> 1 ? ' '.repeat(CHART_MARGIN) + '(waiting for the first samples)' : ''));
    } else {
      chart = asciichart
        .plot(drawn.map((d) => d.series), { ...CHART_OPTIONS, max, colors: drawn.map((d) => COLORS[d.mode]) })
        .split('\n');
    }
    while (chart.length < CHART_ROWS + 1) chart.unshift('');
    const legend = modes.map((m) => `${COLORS[m]}── ${m}${asciichart.reset}`).join('  ');
    const phases = this.#opts.phases.map((p) => `${PHASE_MARK[p.name] ?? '?'} ${PHASE_WORDS[p.name] ?? p.name}`).join('  ');
    const out = [fitFields(['RSS of each mode over the run, MiB', legend], width), ...chart.slice(-(CHART_ROWS + 1))];
    out.push(`${' '.repeat(CHART_MARGIN)}${this.#phaseStrip(plotWidth)}`);
    out.push(fitFields(['phases:', phases], width));
    const barWidth = Math.max(10, Math.min(30, width - 52));
    for (const mode of modes) {
      const st = this.#states.get(mode) as ModeState;
      const last = st.samples[st.samples.length - 1];
      const elapsed = last === undefined ? 0 : this.#elapsed(st, last);
      const frac = st.done ? 1 : Math.min(1, Math.max(0, (elapsed * 1000) / this.#opts.modeDurationMs));
      const filled = Math.round(frac * barWidth);
      const bar = `${COLORS[mode]}${'█'.repeat(filled)}${asciichart.reset}${'░'.repeat(barWidth - filled)}`;
      const head = `${mode.padEnd(8)} ${bar} ${String(Math.round(frac * 100)).padStart(3)}%`;
      out.push(fitFields([head, `${st.phase} ${elapsed.toFixed(1)} s`, `${st.connections} connections`], width));
      out.push(last === undefined ? '' : fitFields([' '.repeat(8), ...this.#figures(last)], width));
    }
    return out;
  }

  #render(): void {
    const lines = this.lines(this.#out.columns ?? PLAIN_COLUMNS);
    // Up to the top of the block, then each line cleared and rewritten; below it, clear the rest.
    let text = this.#drawnLines > 0 ? `\x1b[${this.#drawnLines}A\r` : '';
    for (const line of lines) text += `\x1b[2K${line}\n`;
    this.#out.write(text + '\x1b[J');
    this.#drawnLines = lines.length;
  }

  stop(): void {
    if (this.#redraw !== null) {
      clearInterval(this.#redraw);
      this.#redraw = null;
      this.#out.off('resize', this.#onResize);
      this.#render();
      this.#out.write('\x1b[?25h');
    }
  }
}
