// lib/config.ts - configure() (release policy and the default release mode) and trim().
import { invalidArgValue } from './errors';
import { constants, native } from './native';
import { traceActivity } from './trace';
import { restartMaintenance, getDefaultReleaseMode, maintenanceIntervalMs, setDefaultReleaseMode, setMaintenanceIntervalMs } from './runtime';
import { validateOneOf, validateOptionalSize, validateOptions, validatePowerOfTwo } from './validate';

export interface ConfigureOptions {
  /** First top chunk, bytes: a power of two from 256 KiB to 4 GiB (default 4 MiB). */
  topChunkSize?: number;
  /** Ceiling of the top-chunk doubling, bytes: a power of two up to 4 GiB (default 1 GiB). */
  maxTopChunkSize?: number;
  /** Idle top chunks kept mapped up to this total, bytes (default 4 MiB). */
  retainBytes?: number;
  /**
   * Idle time before memory is released, ms (default 1000). While contexts keep taking chunks,
   * free memory up to the most in use over the last 8 decays stays resident.
   */
  decayMs?: number;
  /** Default release mode of contexts created from now on in this thread (default 'detach'). */
  releaseMode?: 'detach' | 'reserve';
  /** Period of the maintenance timer, ms (0: a quarter of decayMs, between 10 and 1000). */
  maintenanceIntervalMs?: number;
}

export interface Configuration {
  topChunkSize: number;
  maxTopChunkSize: number;
  retainBytes: number;
  decayMs: number;
  releaseMode: 'detach' | 'reserve';
  maintenanceIntervalMs: number;
}

const KEYS: ReadonlySet<string> = new Set(['topChunkSize', 'maxTopChunkSize', 'retainBytes', 'decayMs', 'releaseMode', 'maintenanceIntervalMs']);
const MIN_TOP_CHUNK_BYTES = constants.minTopChunkBytes;
const MAX_TOP_CHUNK_BYTES = constants.maxTopChunkBytes;
const MAX_DECAY_MS = constants.maxDecayMs;

/**
 * Set the release policy (process-wide: the top-chunk layer is shared by every thread) and this
 * thread's default release mode. Returns the configuration in force afterwards. Nothing changes
 * when an option is invalid.
 */
export function configure(options?: ConfigureOptions): Configuration {
  const o = validateOptions(options, 'options', KEYS);
  const cur = native.getConfig();
  const top = validateOptionalSize(o.topChunkSize, 'options.topChunkSize', MIN_TOP_CHUNK_BYTES, MAX_TOP_CHUNK_BYTES, -1);
  if (top !== -1) validatePowerOfTwo(top, 'options.topChunkSize');
  const maxTop = validateOptionalSize(o.maxTopChunkSize, 'options.maxTopChunkSize', MIN_TOP_CHUNK_BYTES, MAX_TOP_CHUNK_BYTES, -1);
  if (maxTop !== -1) validatePowerOfTwo(maxTop, 'options.maxTopChunkSize');
  const effTop = top === -1 ? cur.topChunkSize : top;
  const effMax = maxTop === -1 ? cur.maxTopChunkSize : maxTop;
  if (effMax < effTop) {
    throw invalidArgValue('options.maxTopChunkSize', `must be >= topChunkSize (${effTop})`, effMax);
  }
  const retain = validateOptionalSize(o.retainBytes, 'options.retainBytes', 0, Number.MAX_SAFE_INTEGER, -1);
  const decay = validateOptionalSize(o.decayMs, 'options.decayMs', 0, MAX_DECAY_MS, -1);
  const mode = o.releaseMode === undefined ? undefined : validateOneOf(o.releaseMode, 'options.releaseMode', ['detach', 'reserve'] as const);
  const interval = validateOptionalSize(o.maintenanceIntervalMs, 'options.maintenanceIntervalMs', 0, 60_000, -1);
  native.configure(top, maxTop, retain, decay);
  if (mode !== undefined) setDefaultReleaseMode(mode);
  if (interval !== -1) setMaintenanceIntervalMs(interval);
  else if (decay !== -1) restartMaintenance();
  return getConfiguration();
}

/** The configuration in force. */
export function getConfiguration(): Configuration {
  return { ...native.getConfig(), releaseMode: getDefaultReleaseMode(), maintenanceIntervalMs: maintenanceIntervalMs() };
}

/** Release everything releasable now (ignoring decay and the retained budget); returns bytes released. */
export function trim(): number {
  const released = native.trim();
  traceActivity('trim');
  return released;
}
