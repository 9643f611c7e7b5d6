// demo/src/view.ts - the live terminal view of npm start: RSS charts of both modes side by side (asciichart) over phase progress bars (cli-progress); plain lines when not a TTY.
//
// On a terminal every line of the view is one row of a cli-progress MultiBar, which redraws the
// whole block in place at 10 fps: the chart rows are rows whose format is just their text, and the
// last rows are the real progress bars, one per mode. Without a TTY (CI, pipes) the view prints
// a phase line at each phase change and one status line per mode and second.
import * as asciichart from 'asciichart';
import * as cliProgress from 'cli-progress';
import type { MonitorSample } from '../../dist/monitor';
import type { Mode } from './alloc';

const MiB = 1024 * 1024;
const CHART_ROWS = 10; // asciichart height; it draws CHART_ROWS + 1 rows
const COLORS: Record<Mode, string> = { memctx: asciichart.green, baseline: asciichart.yellow };
const PHASE_MARK: Record<string, string> = { warmup: 'w', rampup: '/', hold: '=', rampdown: '\\', idle: '.' };

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const visible = (s: string): number => s.replace(ANSI, '').length;
const padVisible = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - visible(s)));

interface ModeState {
  mode: Mode;
  samples: MonitorSample[];
  startMs: number | null;
  phase: string;
  connections: number;
  phaseStarts: { name: string; atMs: number }[];
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

export class LiveView {
  readonly #opts: ViewOptions;
  readonly #out: NodeJS.WriteStream;
  readonly #states = new Map<Mode, ModeState>();
  #multi: cliProgress.MultiBar | null = null;
  #textRows: cliProgress.SingleBar[] = [];
  #bars = new Map<Mode, cliProgress.SingleBar>();
  #redraw: NodeJS.Timeout | null = null;

  constructor(opts: ViewOptions) {
    this.#opts = opts;
    this.#out = opts.out ?? process.stdout;
    for (const mode of opts.modes) {
      this.#states.set(mode, { mode, samples: [], startMs: null, phase: 'waiting', connections: 0, phaseStarts: [], lastLineMs: 0, done: false });
    }
    if (opts.tty) this.#startTty();
  }

  #startTty(): void {
    const multi = new cliProgress.MultiBar(
      {
        stream: this.#out,
        hideCursor: true,
        clearOnComplete: false,
        linewrap: false,
        forceRedraw: true,
        fps: 10,
        barsize: 24,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#multi = multi;
    const textFormat = (_o: cliProgress.Options, _p: cliProgress.Params, payload: { text: string }): string => payload.text;
    // Title, chart rows, phase strip: one text row each.
    for (let i = 0; i < CHART_ROWS + 3; i++) this.#textRows.push(multi.create(1, 0, { text: '' }, { format: textFormat }));
    for (const mode of this.#opts.modes) {
      const bar = multi.create(this.#opts.modeDurationMs / 1000, 0, { mode: mode.padEnd(8), info: 'waiting' }, {
        format: '{mode} {bar} {percentage}% | {info}',
      });
      this.#bars.set(mode, bar);
    }
    this.#renderChart();
    this.#redraw = setInterval(() => this.#renderChart(), 250);
  }

  onPhase(mode: Mode, name: string, atMs: number, connections: number): void {
    const st = this.#states.get(mode);
    if (st === undefined) return;
    if (st.startMs === null) st.startMs = atMs;
    st.phase = name;
    st.connections = connections;
    st.phaseStarts.push({ name, atMs });
    if (!this.#opts.tty) {
      this.#out.write(`[${mode}] ${name} starts at ${((atMs - st.startMs) / 1000).toFixed(1)} s, ${connections} connections\n`);
    }
  }

  onConnections(mode: Mode, connections: number): void {
    const st = this.#states.get(mode);
    if (st !== undefined) st.connections = connections;
  }

  onSample(mode: Mode, sample: MonitorSample): void {
    const st = this.#states.get(mode);
    if (st === undefined) return;
    st.samples.push(sample);
    if (st.startMs === null) return;
    const elapsedSec = (sample.timeMs - st.startMs) / 1000;
    const info =
      `${st.phase.padEnd(8)} ${elapsedSec.toFixed(1).padStart(5)} s | RSS ${(sample.rssBytes / MiB).toFixed(1).padStart(6)} MiB` +
      (sample.mappedBytes !== null ? ` | mapped ${(sample.mappedBytes / MiB).toFixed(1).padStart(6)} MiB` : ' | mapped      - ') +
      ` | ${sample.reqPerSec.toFixed(0).padStart(5)} req/s | p99 ${sample.latencyP99Ms === null ? '   -' : sample.latencyP99Ms.toFixed(1).padStart(5)} ms` +
      ` | ${String(st.connections).padStart(3)} conns`;
    if (this.#opts.tty) {
      this.#bars.get(mode)?.update(Math.min(elapsedSec, this.#opts.modeDurationMs / 1000), { info });
    } else if (sample.timeMs - st.lastLineMs >= 1000) {
      st.lastLineMs = sample.timeMs;
      this.#out.write(`[${mode}] ${info}\n`);
    }
  }

  onModeDone(mode: Mode): void {
    const st = this.#states.get(mode);
    if (st === undefined) return;
    st.done = true;
    this.#bars.get(mode)?.update(this.#opts.modeDurationMs / 1000);
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

  #renderChart(): void {
    if (this.#multi === null) return;
    const columns = Math.max(60, this.#out.columns ?? 100);
    const half = Math.floor(columns / 2) - 1;
    const labelWidth = 9;
    const plotWidth = Math.max(10, half - labelWidth - 2);
    const modes = this.#opts.modes;
    const data = modes.map((m) => this.#columns(this.#states.get(m) as ModeState, plotWidth));
    const all = data.flat();
    const min = 0;
    const max = Math.max(16, ...all) * 1.05;
    const charts = modes.map((m, i) => {
      const series = data[i];
      let rows: string[];
      if (series.length === 0) {
        rows = Array.from({ length: CHART_ROWS + 1 }, (_, r) => (r === CHART_ROWS >> 1 ? ' '.repeat(labelWidth + 2) + '(waiting)' : ''));
      } else {
        rows = asciichart
          .plot(series, { height: CHART_ROWS, min, max, offset: labelWidth + 1, colors: [COLORS[m]], format: (x) => `${x.toFixed(0).padStart(labelWidth - 4)} MiB` })
          .split('\n');
      }
      while (rows.length < CHART_ROWS + 1) rows.unshift('');
      return rows.slice(-(CHART_ROWS + 1));
    });
    const title = modes.map((m) => padVisible(`${COLORS[m]}${m}${asciichart.reset} RSS (MiB) over the run`, half)).join('  ');
    const strip = modes.map(() => padVisible(`${' '.repeat(labelWidth + 1)}${this.#phaseStrip(plotWidth)}`, half)).join('  ');
    const lines = [title];
    for (let r = 0; r < CHART_ROWS + 1; r++) lines.push(charts.map((c) => padVisible(c[r], half)).join('  '));
    lines.push(strip + '   phases: w warm-up  / ramp up  = hold  \\ ramp down  . idle');
    lines.forEach((text, i) => this.#textRows[i]?.update(0, { text }));
  }

  stop(): void {
    if (this.#redraw !== null) clearInterval(this.#redraw);
    this.#redraw = null;
    if (this.#multi !== null) {
      this.#renderChart();
      this.#multi.update();
      this.#multi.stop();
      this.#multi = null;
    }
  }
}
