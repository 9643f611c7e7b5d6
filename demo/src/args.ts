// demo/src/args.ts - the flags of npm start: parsing, validation (one-line errors, exit code 2) and --help.
import { parseArgs } from 'node:util';
import { MODES, type Mode } from './alloc';
import { PROFILE_NAMES, PROFILES, type Profile } from './profiles';
import type { PhasePlan, RequestMix } from './protocol';

export class UsageError extends Error {
  readonly exitCode = 2;
}

export interface DemoOptions {
  profile: Profile['name'];
  peakConnections: number;
  warmConnections: number;
  trickleConnections: number;
  mix: RequestMix;
  verifyEvery: number;
  /** Period of malloc_trim(0) in the trim mode, ms. */
  trimIntervalMs: number;
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
  /** Largest process chunk of each request's context, KiB (0 = the facade's default, 1 MiB). */
  maxChunkKiB: number;
  /** memctx's Buffers of large bodies (uploads, file ranges), KiB each; 0 = one Buffer per body. */
  pieceKiB: number;
  /** glibc's heap trim threshold of the memctx service (GLIBC_TUNABLES), MiB; 0 = glibc's own. */
  heapTrimMiB: number;
  /** Mean simulated backend wait per request, ms (0 = none). */
  backendMs: number;
  /** V8 young-generation cap of both services (--max-semi-space-size), MiB; 0 = node's default. */
  semiSpaceMiB: number;
  /** Services run one full GC once idle for 1 s (node --expose-gc). */
  idleGc: boolean;
  help: boolean;
}

const DEFAULT_SEMI_SPACE_MIB = 2;
const DEFAULT_CHUNK_KIB = 0;
const DEFAULT_PIECE_KIB = 64;
const DEFAULT_TRIM_MS = 1000;
// glibc's heap trim threshold for the memctx service, chosen on the spike profile (docs/MAIN.md,
// "Faults in hold"): at glibc's own 128 KiB its small heap shrank and regrew under load (1.6-4.8x
// the baseline's page faults in hold, five runs); at 8 MiB 1.11-2.72x (ten runs); 2 MiB gave
// 1.64x in one run. The heap keeps at most this much free: RSS after a spike stays within target.
export const DEFAULT_HEAP_TRIM_MIB = 8;
const phaseList = (p: Profile): string => p.phases.map(([n, sec]) => `${n}:${sec}`).join(',');
const totalSec = (p: Profile): number => p.phases.reduce((a, [, sec]) => a + sec, 0);
const D = PROFILES.default;
const S = PROFILES.spike;

export const HELP = `Usage: npm start -- [flags]

Runs the memctx demo: one node:http service per mode, side by side, each driven by its own
autocannon process through the phases of a profile and sampled every 100 ms. The modes: memctx
(a memory context per request), baseline (plain Buffers) and trim (plain Buffers, plus glibc's
malloc_trim(0) every --trim-ms: the usual workaround for RSS that stays high). All run at the
same time (so noise on the machine hits all alike) unless --sequential. Shows RSS live, then
writes an HTML report, samples.jsonl, samples.csv and prints summary tables.

Profiles:
  default             ${phaseList(D)}
                      (${totalSec(D)} s), ${D.peakConnections} connections at the peak, bodies of 2 KiB-384 KiB,
                      backend ${D.backendMs} ms: about a minute
  spike               ${phaseList(S)}
                      (${totalSec(S)} s), ${S.peakConnections} connections per mode at the peak, uploads of 1-4 MiB
                      and responses of 256 KiB-2 MiB held across a ${S.backendMs / 1000} s backend wait: over 512 MiB
                      of request memory in flight per mode, then a trickle, idle, and traffic
                      returning; about two minutes

Flags:
  --profile <name>    default or spike (default: default); the flags below override it
  --peak <n>          connections at the top of the ramp, 1..1024 (profile: ${D.peakConnections} / ${S.peakConnections})
  --duration <s>      seconds of the run; scales the phases to this total
  --phases <list>     phase lengths in seconds, all of the profile's in order, e.g.
                      ${phaseList(D)} (or ${D.phases.map(([, sec]) => sec).join(',')})
  --modes <list>      modes to run, of memctx,baseline,trim (default all three)
  --trim-ms <ms>      period of malloc_trim(0) in the trim mode, 10..60000 (default ${DEFAULT_TRIM_MS})
  --sequential        run the modes one after another (in --modes order), not at once
  --out <dir>         output folder (default reports/<date-time>)
  --backend-ms <ms>   mean wait of each request on a simulated backend, holding its Buffers,
                      0..10000 (profile: ${D.backendMs} / ${S.backendMs}; each wait is 0.2x to 1.8x of it)
  --chunk-kib <n>     first process chunk of each request's context, 0..4096 KiB
                      (default ${DEFAULT_CHUNK_KIB}; 0 = the facade's default, 16 KiB)
  --max-chunk-kib <n> largest process chunk of each request's context, 0..1048576 KiB (default
                      0 = the facade's default, 1 MiB); allocations above an eighth of it (at
                      most 512 KiB) are large: a chunk of their own
  --piece-kib <n>     memctx holds large bodies (uploads, file ranges) in Buffers of this size,
                      0..8192 KiB in steps of 4 (default ${DEFAULT_PIECE_KIB}, below its large-allocation
                      threshold; 0 = one Buffer per body, as the plain modes do, which memctx
                      maps afresh, page faults and all, from 1 MiB up)
  --heap-trim-mib <n> glibc's heap trim threshold in the memctx service, 0..1024 MiB (default
                      ${DEFAULT_HEAP_TRIM_MIB}; 0 = glibc's own, 128 KiB), set with GLIBC_TUNABLES: memctx holds
                      the bodies, so glibc's heap holds little more than Node's socket reads and
                      at 128 KiB shrinks and regrows under load (README, "glibc's heap")
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

function parsePhases(raw: string, profile: Profile): PhasePlan[] {
  const names = profile.phases.map(([n]) => n);
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length !== names.length) {
    throw new UsageError(`--phases needs ${names.length} entries (${names.join(',')}), got ${parts.length} in ${JSON.stringify(raw)}`);
  }
  return parts.map((part, i) => {
    const name = names[i];
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
        profile: { type: 'string' },
        'trim-ms': { type: 'string' },
        peak: { type: 'string' },
        duration: { type: 'string' },
        phases: { type: 'string' },
        modes: { type: 'string' },
        out: { type: 'string' },
        interval: { type: 'string' },
        'backend-ms': { type: 'string' },
        'semi-space-mib': { type: 'string' },
        'chunk-kib': { type: 'string' },
        'piece-kib': { type: 'string' },
        'max-chunk-kib': { type: 'string' },
        'heap-trim-mib': { type: 'string' },
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
  if (v.profile !== undefined && !PROFILE_NAMES.includes(v.profile as Profile['name'])) {
    throw new UsageError(`--profile must be ${PROFILE_NAMES.join(' or ')}, got ${JSON.stringify(v.profile)}`);
  }
  const profile = PROFILES[(v.profile ?? 'default') as Profile['name']];
  const phases = v.phases !== undefined
    ? parsePhases(v.phases, profile)
    : profile.phases.map(([name, sec]) => ({ name, durationMs: sec * 1000 }));
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
      if (!MODES.includes(m as Mode)) throw new UsageError(`--modes entries must be ${MODES.join(', ')}, got ${JSON.stringify(m)}`);
    }
    if (new Set(list).size !== list.length) throw new UsageError(`--modes lists a mode twice: ${JSON.stringify(v.modes)}`);
    modes = list as Mode[];
  }
  if (v.out !== undefined && v.out.trim().length === 0) throw new UsageError('--out must name a folder, got ""');
  const pieceKiB = v['piece-kib'] !== undefined ? parseNumber('--piece-kib', v['piece-kib'], 0, 8192, true) : DEFAULT_PIECE_KIB;
  // A piece holds whole 4 KiB blocks of a body, so the upload check reads each block from one piece.
  if (pieceKiB % 4 !== 0) throw new UsageError(`--piece-kib must be a multiple of 4, got ${JSON.stringify(v['piece-kib'])}`);
  const chunkKiB = v['chunk-kib'] !== undefined ? parseNumber('--chunk-kib', v['chunk-kib'], 0, 4096, true) : DEFAULT_CHUNK_KIB;
  const maxChunkKiB = v['max-chunk-kib'] !== undefined ? parseNumber('--max-chunk-kib', v['max-chunk-kib'], 0, 1048576, true) : 0;
  if (maxChunkKiB !== 0 && maxChunkKiB < Math.max(chunkKiB, 16)) {
    throw new UsageError(`--max-chunk-kib must be 0 or at least the first chunk (${Math.max(chunkKiB, 16)} KiB), got ${JSON.stringify(v['max-chunk-kib'])}`);
  }
  const peakConnections = v.peak !== undefined ? parseNumber('--peak', v.peak, 1, 1024, true) : profile.peakConnections;
  return {
    profile: profile.name,
    peakConnections,
    warmConnections: Math.max(1, Math.round(peakConnections * profile.warmFraction)),
    trickleConnections: Math.min(peakConnections, profile.trickleConnections),
    mix: profile.mix,
    verifyEvery: profile.verifyEvery,
    trimIntervalMs: v['trim-ms'] !== undefined ? parseNumber('--trim-ms', v['trim-ms'], 10, 60000, true) : DEFAULT_TRIM_MS,
    phases,
    modes,
    outDir: v.out ?? null,
    intervalMs: v.interval !== undefined ? parseNumber('--interval', v.interval, 10, 10000, true) : 100,
    backendMs: v['backend-ms'] !== undefined ? parseNumber('--backend-ms', v['backend-ms'], 0, 10000, false) : profile.backendMs,
    semiSpaceMiB: v['semi-space-mib'] !== undefined ? parseNumber('--semi-space-mib', v['semi-space-mib'], 0, 64, true) : DEFAULT_SEMI_SPACE_MIB,
    chunkKiB,
    pieceKiB,
    maxChunkKiB,
    heapTrimMiB: v['heap-trim-mib'] !== undefined ? parseNumber('--heap-trim-mib', v['heap-trim-mib'], 0, 1024, true) : DEFAULT_HEAP_TRIM_MIB,
    seed: v.seed !== undefined ? parseNumber('--seed', v.seed, 0, 65535, true) : 1,
    verify: v['no-verify'] !== true,
    plain: v.plain === true,
    sequential: v.sequential === true,
    idleGc: v['no-idle-gc'] !== true,
    help: v.help === true,
  };
}
