// demo/src/profiles.ts - the named load profiles of npm start (default, spike): phases, peak, backend wait, request mix.
//
// default: about a minute of a moderate ramp (bodies of 2-384 KiB, 128 connections at the peak).
// spike: the scale the design is for. 70% of the requests upload a body of 1-4 MiB, the others get
// responses of 0.25-2 MiB; held across a ~6 s backend wait by 384 connections per mode, they put
// over 512 MiB of request memory in flight at the peak; then traffic falls to a trickle, to idle,
// and returns at the warm level. About two minutes.
import type { PhaseName, RequestMix } from './protocol';

const KiB = 1024;
const MiB = 1024 * 1024;

export interface Profile {
  name: 'default' | 'spike';
  /** Phases in order with their default lengths, seconds. */
  phases: readonly (readonly [PhaseName, number])[];
  peakConnections: number;
  /** Warm layer as a fraction of the peak; trickle connections. */
  warmFraction: number;
  trickleConnections: number;
  backendMs: number;
  mix: RequestMix;
  /** Responses checked byte for byte: 1 in verifyEvery. */
  verifyEvery: number;
}

export const PROFILES: Readonly<Record<Profile['name'], Profile>> = {
  default: {
    name: 'default',
    phases: [['warmup', 5], ['rampup', 12], ['hold', 18], ['rampdown', 8], ['idle', 12]],
    peakConnections: 128,
    warmFraction: 0.1,
    trickleConnections: 2,
    backendMs: 20,
    mix: {
      renderMinBytes: 2 * KiB,
      renderMaxBytes: 256 * KiB,
      fileMinBytes: 4 * KiB,
      fileMaxBytes: 384 * KiB,
      ingestMinBytes: 1 * KiB,
      ingestMaxBytes: 64 * KiB,
      uploadShare: 0,
      uploadMinBytes: 0,
      uploadMaxBytes: 0,
    },
    verifyEvery: 1,
  },
  spike: {
    name: 'spike',
    phases: [['warmup', 12], ['rampup', 20], ['hold', 25], ['rampdown', 8], ['trickle', 12], ['idle', 15], ['return', 15]],
    peakConnections: 384,
    // 12 connections before and after the spike: a service that is busy, not idle, at its normal level.
    warmFraction: 1 / 32,
    trickleConnections: 2,
    // Long enough that each request holds its bodies for seconds, as a slow backend makes it do;
    // this is what puts hundreds of MiB in flight without saturating two cores with bytes.
    backendMs: 6000,
    mix: {
      renderMinBytes: 256 * KiB,
      renderMaxBytes: 2 * MiB,
      fileMinBytes: 256 * KiB,
      fileMaxBytes: 2 * MiB,
      ingestMinBytes: 16 * KiB,
      ingestMaxBytes: 256 * KiB,
      // Large request bodies held by the service: memory in flight that costs the client little
      // CPU (it sends cached bodies; reading multi-MiB responses is what limits a client).
      uploadShare: 0.7,
      uploadMinBytes: 1 * MiB,
      uploadMaxBytes: 4 * MiB,
    },
    // Checking a multi-MiB body in the client costs more CPU than serving it; 1 in 8 is checked
    // byte for byte, every response's tag, status and length are checked.
    verifyEvery: 8,
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES) as Profile['name'][];
