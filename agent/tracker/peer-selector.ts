import type { PeerView, SwarmView } from './swarm-registry.js';

/** One peer list to choose: who asks, in which swarm, how many peers at most. */
export interface SelectionRequest {
  readonly swarm: SwarmView;
  /** The asking peer, already updated with this announce's report. */
  readonly asker: PeerView;
  /** Peers wanted, already capped by the tracker's maximum. */
  readonly count: number;
  readonly nowMs: number;
}

/**
 * How the tracker picks the peers it returns. Implementations hold their own seeded `Random`, so a
 * run with the same seed and the same announces returns the same lists.
 */
export interface PeerSelector {
  /** Short name recorded in the announce log (`random`, `qos`). */
  readonly name: string;
  /** At most `count` distinct peers, never the asker. */
  select(req: SelectionRequest): PeerView[];
}
