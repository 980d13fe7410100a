/**
 * How the peer talks to a tracker. `HttpAnnouncer` (http-announcer.ts) speaks BEP 3 / BEP 23 / BEP 7
 * plus seedstream's bandwidth/delay extension parameters (documented in the README).
 */
export type AnnounceEvent = 'started' | 'completed' | 'stopped';

/** One measured delay to a peer we know, reported to the tracker (the paper's QoS extension). */
export interface PeerDelayReport {
  readonly host: string;
  readonly port: number;
  readonly delayMs: number;
}

export interface AnnounceRequest {
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly port: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event?: AnnounceEvent;
  readonly numwant?: number;
  /** Opaque key (BEP 7) identifying us across IP changes. */
  readonly key?: string;
  readonly trackerId?: string;
  /** Our upstream capacity in bytes/s (extension; omitted for ordinary behaviour). */
  readonly upstreamBps?: number;
  /** Delays we measured to peers (extension). */
  readonly delays?: readonly PeerDelayReport[];
}

export interface AnnouncedPeer {
  readonly host: string;
  readonly port: number;
  readonly peerId?: Buffer;
}

export interface AnnounceResponse {
  /** Seconds until the next regular announce. */
  readonly interval: number;
  readonly minInterval?: number;
  readonly trackerId?: string;
  readonly complete?: number;
  readonly incomplete?: number;
  readonly warning?: string;
  readonly peers: readonly AnnouncedPeer[];
}

export interface Announcer {
  readonly url: string;
  /** Rejects with TrackerError (`ERR_TRACKER_*`) naming the tracker URL and the cause. */
  announce(req: AnnounceRequest, signal?: AbortSignal): Promise<AnnounceResponse>;
}
