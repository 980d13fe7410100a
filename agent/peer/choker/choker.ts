/**
 * Which remote peers we upload to. The torrent calls `rechoke` every RECHOKE_INTERVAL_MS (and when
 * a peer that holds an upload slot leaves or loses interest) and unchokes exactly the returned peers.
 *
 * Implementations: `TitForTatChoker` (tit-for-tat.ts), `QosChoker` (qos.ts); by name: `createChoker`
 * (index.ts). Every implementation is seeded and passes the compliance suite in
 * test/agent/peer/choker/.
 */
export interface ChokerPeer {
  /** Stable identity of the connection for the lifetime of the torrent. */
  readonly id: string;
  /** The remote peer is interested in something we have. */
  readonly interested: boolean;
  /** We currently choke the remote peer. */
  readonly choked: boolean;
  /** Payload bytes/s we received from it, over a rolling window. */
  readonly downloadRate: number;
  /** Payload bytes/s we sent to it, over a rolling window. */
  readonly uploadRate: number;
  /** It unchoked us and we wanted data, but it sent no block for SNUB_TIMEOUT_MS. */
  readonly snubbed: boolean;
  /** When the connection was established (ms, same clock as `now`). */
  readonly connectedAt: number;
  /** Measured round-trip time to the peer in ms, when known (QoS chokers). */
  readonly rttMs?: number;
  /** The remote's `require`: minimum sustained bitrate it wants, bits/s (QoS chokers). */
  readonly requiredBitrateBps?: number;
  /** The remote's `require`: longest it accepts to wait for requested data, ms (QoS chokers). */
  readonly maxResponseDelayMs?: number;
}

export interface RechokeContext {
  /** We hold every piece: upload slots go to the peers we serve fastest, not to reciprocators. */
  readonly seeding: boolean;
  /** Current time in ms. */
  readonly now: number;
}

export interface Choker {
  readonly name: string;
  /** Returns the ids of the peers to unchoke; every other peer is choked. */
  rechoke(peers: readonly ChokerPeer[], ctx: RechokeContext): Set<string>;
}

/** The reference client's period between rechokes. */
export const RECHOKE_INTERVAL_MS = 10_000;
/** The optimistic unchoke rotates every third rechoke. */
export const OPTIMISTIC_UNCHOKE_INTERVAL_MS = 30_000;
/** A peer that sends us nothing for this long while unchoking us is snubbed. */
export const SNUB_TIMEOUT_MS = 60_000;
