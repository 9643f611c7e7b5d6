// demo/src/protocol.ts - the messages between the npm start driver and its service and load-client child processes.
import type { MonitorSample, PhaseStats } from '../../dist/monitor';
import type { TrimRecord } from '../../dist/report/data';
import type { Mode } from './alloc';
import type { ServiceTimeStats } from './servicetime';

/** A service's sample: the monitor's, plus the request memory its handlers hold. */
export interface DemoSample extends MonitorSample {
  /** Bytes of request Buffers allocated and not yet released, at the sample and the most in the interval. */
  requestBytes: number;
  requestBytesMax: number;
}

/**
 * Every phase the load client knows. A profile (demo/src/profiles.ts) runs some of them in order:
 * warm-up opens the warm layer, ramp up adds layers to the peak, hold keeps it, ramp down closes
 * the layers, trickle keeps a couple of connections, idle sends nothing, return reopens the warm
 * layer (traffic coming back after the idle spell).
 */
export const PHASE_NAMES = ['warmup', 'rampup', 'hold', 'rampdown', 'trickle', 'idle', 'return'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

/** The request mix: response and range sizes in bytes, drawn log-uniformly between min and max. */
export interface RequestMix {
  renderMinBytes: number;
  renderMaxBytes: number;
  fileMinBytes: number;
  fileMaxBytes: number;
  ingestMinBytes: number;
  ingestMaxBytes: number;
  /** Share of requests that upload a large body (POST /upload), and its size range. */
  uploadShare: number;
  uploadMinBytes: number;
  uploadMaxBytes: number;
}

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
  | { type: 'listening'; port: number; pid: number; mode: Mode; glibcTunables: string | null }
  | { type: 'sample'; sample: DemoSample }
  | { type: 'trim'; trim: TrimRecord }
  | { type: 'stats'; phases: PhaseStats[]; serviceTime: ServiceTimeStats[] }
  | { type: 'fatal'; message: string };

export interface LoadConfig {
  port: number;
  phases: PhasePlan[];
  /** Connections at the top of the ramp. */
  peakConnections: number;
  verify: boolean;
  /** Check 1 response in this many byte for byte (1 = every one). */
  verifyEvery: number;
  /** Connections of the warm layer (warm-up, return) and of the trickle phase. */
  warmConnections: number;
  trickleConnections: number;
  mix: RequestMix;
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
  /** Responses compared byte for byte, and responses whose status, tag and length were checked only. */
  verified: number;
  shallowChecked: number;
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
