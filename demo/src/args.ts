// demo/src/args.ts - the flags of npm start: parsing, validation (one-line errors, exit code 2) and --help.
import { parseArgs } from 'node:util';
import { MODES, type Mode } from './alloc';
import { PHASE_NAMES, type PhasePlan } from './protocol';

export class UsageError extends Error {
  readonly exitCode = 2;
}

export interface DemoOptions {
  peakConnections: number;
  phases: PhasePlan[];
  modes: Mode[];
  outDir: string | null;
  intervalMs: number;
  seed: number;
  verify: boolean;
  plain: boolean;
  /** Run the modes one after another instead of at the same time. */
  sequential: boolean;
  /** First process chunk of each request context, KiB (0 = the facade's default). */
  chunkKiB: number;
  /** Mean simulated backend wait per request, ms (0 = none). */
  backendMs: number;
  /** V8 young-generation cap of both services (--max-semi-space-size), MiB; 0 = node's default. */
  semiSpaceMiB: number;
  /** Services run one full GC once idle for 1 s (node --expose-gc). */
  idleGc: boolean;
  help: boolean;
}

export const DEFAULT_PHASES_SEC: Record<(typeof PHASE_NAMES)[number], number> = {
  warmup: 5,
  rampup: 12,
  hold: 18,
  rampdown: 8,
  idle: 12,
};
const DEFAULT_PEAK = 128;
const DEFAULT_BACKEND_MS = 20;
const DEFAULT_SEMI_SPACE_MIB = 2;
const DEFAULT_CHUNK_KIB = 0;

export const HELP = `Usage: npm start -- [flags]

Runs the memctx demo: a node:http service (one memory context per request) and the same service
with plain Buffers, side by side, each driven by its own autocannon process through warm-up, ramp
up, hold, ramp down and idle, sampled every 100 ms. Both modes run at the same time (so noise on
the machine hits both alike) unless --sequential. Shows RSS live, then writes an HTML report,
samples.jsonl, samples.csv and prints a summary table. The defaults take about a minute.

Flags:
  --peak <n>          connections at the top of the ramp, 1..1024 (default ${DEFAULT_PEAK})
  --duration <s>      seconds of the run; scales the phases to this total (default ${Object.values(DEFAULT_PHASES_SEC).reduce((a, b) => a + b, 0)})
  --phases <list>     phase lengths in seconds, all five in order, e.g.
                      warmup:5,rampup:12,hold:18,rampdown:8,idle:12 (or 5,12,18,8,12)
  --modes <list>      modes to run: memctx,baseline (default both)
  --sequential        run the modes one after another (in --modes order), not at once
  --out <dir>         output folder (default reports/<date-time>)
  --backend-ms <ms>   mean wait of each request on a simulated backend, holding its Buffers,
                      0..1000 (default ${DEFAULT_BACKEND_MS}; each wait is 0.2x to 1.8x of it)
  --chunk-kib <n>     first process chunk of each request's context, 0..4096 KiB
                      (default ${DEFAULT_CHUNK_KIB}; 0 = the facade's default, 8 KiB)
  --interval <ms>     sampling period of each service, 10..10000 (default 100)
  --seed <n>          seed of the request mix, 0..65535 (default 1)
  --semi-space-mib <n>
                      V8 young generation of both services (--max-semi-space-size), 0..64 MiB,
                      0 = node's default (default ${DEFAULT_SEMI_SPACE_MIB}: node 20 grows it to 2 x 16 MiB under the
                      first burst and never shrinks it, in both modes alike)
  --no-idle-gc        do not let the services run one full GC once idle for 1 s (default: they
                      do, in both modes, so RSS after the load shows what the allocators keep)
  --no-verify         do not check response bodies byte for byte (default: check every one)
  --plain             plain log lines even on a terminal (default when output is not a TTY)
  -h, --help          this text

Exit codes: 0 done, 1 the service or the load client failed (or a response was wrong),
2 bad flags or an output folder that cannot be written.`;

function parseNumber(flag: string, raw: string, min: number, max: number, integer: boolean): number {
  const trimmed = raw.trim();
  const v = trimmed.length === 0 ? NaN : Number(trimmed);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw new UsageError(`${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

function parsePhases(raw: string): PhasePlan[] {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length !== PHASE_NAMES.length) {
    throw new UsageError(`--phases needs ${PHASE_NAMES.length} entries (${PHASE_NAMES.join(',')}), got ${parts.length} in ${JSON.stringify(raw)}`);
  }
  return parts.map((part, i) => {
    const name = PHASE_NAMES[i];
    const colon = part.indexOf(':');
    let value = part;
    if (colon >= 0) {
      const given = part.slice(0, colon);
      if (given !== name) throw new UsageError(`--phases entry ${i + 1} must be ${name}, got ${JSON.stringify(given)}`);
      value = part.slice(colon + 1);
    }
    return { name, durationMs: Math.round(parseNumber(`--phases ${name}`, value, 0, 3600, false) * 1000) };
  });
}

/** Parses npm start's flags; throws UsageError with a one-line message. */
export function parseDemoArgs(argv: string[]): DemoOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        peak: { type: 'string' },
        duration: { type: 'string' },
        phases: { type: 'string' },
        modes: { type: 'string' },
        out: { type: 'string' },
        interval: { type: 'string' },
        'backend-ms': { type: 'string' },
        'semi-space-mib': { type: 'string' },
        'chunk-kib': { type: 'string' },
        seed: { type: 'string' },
        'no-verify': { type: 'boolean' },
        'no-idle-gc': { type: 'boolean' },
        plain: { type: 'boolean' },
        sequential: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs' messages span lines and mention its API; keep the first sentence.
    const msg = (err as Error).message.split('\n')[0].replace(/\. To specify.*$/, '');
    throw new UsageError(msg);
  }
  const v = parsed.values;
  const phases = v.phases !== undefined
    ? parsePhases(v.phases)
    : PHASE_NAMES.map((name) => ({ name, durationMs: DEFAULT_PHASES_SEC[name] * 1000 }));
  if (v.duration !== undefined) {
    const totalMs = parseNumber('--duration', v.duration, 1, 3600, false) * 1000;
    const sum = phases.reduce((a, p) => a + p.durationMs, 0);
    if (sum === 0) throw new UsageError('--phases are all zero, so --duration has nothing to scale');
    for (const p of phases) p.durationMs = Math.round((p.durationMs * totalMs) / sum);
  }
  if (phases.reduce((a, p) => a + p.durationMs, 0) <= 0) throw new UsageError('--phases must add up to more than 0 s');
  let modes: Mode[] = [...MODES];
  if (v.modes !== undefined) {
    const list = v.modes.split(',').map((m) => m.trim());
    for (const m of list) {
      if (!MODES.includes(m as Mode)) throw new UsageError(`--modes entries must be ${MODES.join(' or ')}, got ${JSON.stringify(m)}`);
    }
    if (new Set(list).size !== list.length) throw new UsageError(`--modes lists a mode twice: ${JSON.stringify(v.modes)}`);
    modes = list as Mode[];
  }
  if (v.out !== undefined && v.out.trim().length === 0) throw new UsageError('--out must name a folder, got ""');
  return {
    peakConnections: v.peak !== undefined ? parseNumber('--peak', v.peak, 1, 1024, true) : DEFAULT_PEAK,
    phases,
    modes,
    outDir: v.out ?? null,
    intervalMs: v.interval !== undefined ? parseNumber('--interval', v.interval, 10, 10000, true) : 100,
    backendMs: v['backend-ms'] !== undefined ? parseNumber('--backend-ms', v['backend-ms'], 0, 1000, false) : DEFAULT_BACKEND_MS,
    semiSpaceMiB: v['semi-space-mib'] !== undefined ? parseNumber('--semi-space-mib', v['semi-space-mib'], 0, 64, true) : DEFAULT_SEMI_SPACE_MIB,
    chunkKiB: v['chunk-kib'] !== undefined ? parseNumber('--chunk-kib', v['chunk-kib'], 0, 4096, true) : DEFAULT_CHUNK_KIB,
    seed: v.seed !== undefined ? parseNumber('--seed', v.seed, 0, 65535, true) : 1,
    verify: v['no-verify'] !== true,
    plain: v.plain === true,
    sequential: v.sequential === true,
    idleGc: v['no-idle-gc'] !== true,
    help: v.help === true,
  };
}
