// demo/src/protocol.ts - the messages between the npm start driver and its service and load-client child processes.
import type { MonitorSample, PhaseStats } from '../../dist/monitor';
import type { Mode } from './alloc';

export const PHASE_NAMES = ['warmup', 'rampup', 'hold', 'rampdown', 'idle'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

export interface PhasePlan {
  name: PhaseName;
  durationMs: number;
}

/** driver -> service (process.send) */
export type ToService =
  | { type: 'phase'; name: string }
  | { type: 'stats' }
  | { type: 'exit' };

/** service -> driver */
export type FromService =
  | { type: 'listening'; port: number; pid: number; mode: Mode }
  | { type: 'sample'; sample: MonitorSample }
  | { type: 'stats'; phases: PhaseStats[] }
  | { type: 'fatal'; message: string };

export interface LoadConfig {
  port: number;
  phases: PhasePlan[];
  /** Connections at the top of the ramp. */
  peakConnections: number;
  verify: boolean;
  /** Seed of the request parameters (sizes, routes). */
  seed: number;
  fileSizeBytes: number;
}

/** What the load client saw over the whole run. */
export interface LoadResult {
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  bytesRead: number;
  verified: number;
  mismatches: number;
  /** Up to 5 descriptions of mismatching responses. */
  mismatchSamples: string[];
}

/** driver -> load */
export type ToLoad = { type: 'start'; config: LoadConfig };

/** load -> driver */
export type FromLoad =
  | { type: 'phase'; name: PhaseName; timeMs: number; connections: number }
  | { type: 'connections'; connections: number; timeMs: number }
  | { type: 'done'; result: LoadResult }
  | { type: 'fatal'; message: string };
