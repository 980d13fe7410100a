import type { MessageStatsSnapshot } from '../peer/accounting/message-stats.js';
import type { PlaybackMetrics } from '../peer/playback/index.js';
import type { ByteSource } from '../peer/torrent/torrent.js';
import type { SwarmPlan } from './plan.js';

/** Message kinds that announce or ask for pieces: what the range messages are meant to shrink. */
export const HAVE_REQUEST_KINDS = ['have', 'request', 'ext:ss_range'] as const;
const MiB = 1_048_576;

export type PeerRole = 'seeder' | 'leecher';

export interface PeerResult {
  readonly name: string;
  readonly role: PeerRole;
  readonly strategy?: string;
  /** Planned arrival, ms after the swarm started. */
  readonly arrivalMs: number;
  /** Actual arrival (listening, torrent and player started), ms after the swarm started. */
  readonly joinedAtMs?: number;
  readonly completed: boolean;
  /** From joining to holding every piece. */
  readonly completionMs?: number;
  /** The leecher played the whole stream. */
  readonly finishedPlaying?: boolean;
  /** The leecher's player: startup delay, stalls, continuity, deadline misses, lag, bytes by source. */
  readonly playback?: PlaybackMetrics;
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
  readonly wastedBytes: number;
  /** Pieces its bounded cache dropped (leechers with `cachePieces`). */
  readonly evictedPieces?: number;
  readonly bytesBySource: Readonly<Record<ByteSource, number>>;
  readonly messages: MessageStatsSnapshot;
  /** Bytes of HAVE_REQUEST_KINDS this peer sent. */
  readonly haveRequestBytes: number;
  /** Mean of its connections' smoothed round trips, where measured. */
  readonly meanRttMs?: number;
  readonly link: { readonly kind: string; readonly sentBytes?: number; readonly receivedBytes?: number };
  readonly error?: string;
}

export interface SwarmTotals {
  readonly leechers: number;
  readonly joined: number;
  readonly completed: number;
  readonly finishedPlaying: number;
  readonly failed: number;
  /** Payload the leechers received. */
  readonly deliveredBytes: number;
  readonly bytesBySource: Readonly<Record<ByteSource, number>>;
  readonly uploadedBytes: number;
  /** HAVE_REQUEST_KINDS bytes sent by every peer. */
  readonly haveRequestBytes: number;
  readonly haveRequestBytesPerMiB: number;
}

/** The media server's own counters (see MediaServerStats), when the swarm ran one. */
export interface MediaServerResult {
  readonly url: string;
  /** Its upload limit, bytes/s; undefined: unlimited. */
  readonly uploadBytesPerSecond?: number;
  /** Leechers that streamed from it (strategy `bass`). */
  readonly clients: number;
  /** Requests received (every method, every outcome). */
  readonly requests: number;
  /** Payload bytes handed to sockets (a fetch cut short counts what was sent). */
  readonly bytesServed: number;
  readonly errors: number;
  /** Turned away with 503 (too many responses at once). */
  readonly rejected: number;
  /** Bodies the client stopped reading before the end. */
  readonly aborted: number;
}

export interface SwarmResult {
  readonly plan: SwarmPlan;
  readonly infoHash: string;
  readonly pieceCount: number;
  readonly durationMs: number;
  /** The stop condition (every leecher done) was not reached within `timeoutMs`. */
  readonly timedOut: boolean;
  /** The seeder first, then the leechers in plan order. */
  readonly peers: readonly PeerResult[];
  readonly totals: SwarmTotals;
  /** Present when the swarm ran a media server (BASS). */
  readonly mediaServer?: MediaServerResult;
}

/** Sums the per-peer results into the swarm's totals. */
export function swarmTotals(plannedLeechers: number, peers: readonly PeerResult[]): SwarmTotals {
  const leechers = peers.filter((r) => r.role === 'leecher');
  const bytesBySource: Record<ByteSource, number> = { peer: 0, seed: 0, 'media-server': 0 };
  for (const r of leechers) {
    for (const k of Object.keys(bytesBySource) as ByteSource[]) bytesBySource[k] += r.bytesBySource[k];
  }
  const delivered = leechers.reduce((sum, r) => sum + r.downloadedBytes, 0);
  const haveRequest = peers.reduce((sum, r) => sum + r.haveRequestBytes, 0);
  return {
    leechers: plannedLeechers,
    joined: leechers.filter((r) => r.joinedAtMs !== undefined).length,
    completed: leechers.filter((r) => r.completed).length,
    finishedPlaying: leechers.filter((r) => r.finishedPlaying).length,
    failed: leechers.filter((r) => r.error !== undefined).length,
    deliveredBytes: delivered,
    bytesBySource,
    uploadedBytes: peers.reduce((sum, r) => sum + r.uploadedBytes, 0),
    haveRequestBytes: haveRequest,
    haveRequestBytesPerMiB: delivered > 0 ? haveRequest / (delivered / MiB) : 0,
  };
}
