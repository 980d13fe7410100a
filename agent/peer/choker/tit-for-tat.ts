import type { Random } from '../random.js';
import {
  type Choker,
  type ChokerPeer,
  OPTIMISTIC_UNCHOKE_INTERVAL_MS,
  type RechokeContext,
} from './choker.js';
import { ChokerInitError } from './errors.js';

/** The reference client's upload slots: three regular plus one optimistic. */
export const DEFAULT_UPLOAD_SLOTS = 4;
/**
 * How much likelier a peer connected within the last OPTIMISTIC_UNCHOKE_INTERVAL_MS is to get the
 * optimistic unchoke: newcomers have nothing to trade yet, so they need the bootstrap most.
 */
export const NEW_PEER_OPTIMISTIC_WEIGHT = 3;

export interface TitForTatChokerInit {
  /** Breaks ties and draws the optimistic unchoke; pass a fork dedicated to this choker. */
  readonly random: Random;
  /** Upload slots including the optimistic one. Default DEFAULT_UPLOAD_SLOTS. */
  readonly uploadSlots?: number;
}

/** Rates come from measurement code; anything not a finite positive number counts as nothing. */
function rate(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function byId(a: ChokerPeer, b: ChokerPeer): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The reference BitTorrent client's choking algorithm. While leeching, `uploadSlots - 1` regular
 * slots go to the interested peers that upload to us fastest, excluding snubbed ones; while
 * seeding they go to the peers we upload to fastest. One more slot is an optimistic unchoke, drawn
 * at random among the other interested peers (newcomers NEW_PEER_OPTIMISTIC_WEIGHT times as
 * likely) and kept for OPTIMISTIC_UNCHOKE_INTERVAL_MS, so that peers with nothing to trade yet can
 * bootstrap and better partners can be discovered.
 *
 * Output depends only on the seed and the sequence of inputs, not on the order of `peers`.
 */
export class TitForTatChoker implements Choker {
  readonly name = 'tit-for-tat';
  readonly uploadSlots: number;
  readonly #random: Random;
  #optimistic: string | undefined;
  #optimisticSince = 0;
  /** When each present peer was last in the unchoke set (seeding tie-break). */
  #lastUnchokedAt = new Map<string, number>();

  constructor(init: TitForTatChokerInit) {
    const uploadSlots = init.uploadSlots ?? DEFAULT_UPLOAD_SLOTS;
    if (!Number.isSafeInteger(uploadSlots) || uploadSlots < 1) {
      throw new ChokerInitError(`uploadSlots must be a positive integer, got ${uploadSlots}`);
    }
    this.uploadSlots = uploadSlots;
    this.#random = init.random;
  }

  /** The peer currently holding the optimistic unchoke, if any. */
  get optimisticPeer(): string | undefined {
    return this.#optimistic;
  }

  rechoke(peers: readonly ChokerPeer[], ctx: RechokeContext): Set<string> {
    const present = new Map<string, ChokerPeer>();
    for (const peer of peers) if (!present.has(peer.id)) present.set(peer.id, peer);
    const interested = [...present.values()].filter((p) => p.interested).sort(byId);

    const lastUnchokedAt = new Map<string, number>();
    for (const [id, at] of this.#lastUnchokedAt) if (present.has(id)) lastUnchokedAt.set(id, at);
    this.#lastUnchokedAt = lastUnchokedAt;

    // A seeder downloads nothing, so snubbing says nothing about a peer's worth to it.
    const candidates = this.#random.shuffle(interested.filter((p) => ctx.seeding || !p.snubbed));
    if (ctx.seeding) {
      const since = (p: ChokerPeer): number => lastUnchokedAt.get(p.id) ?? Number.NEGATIVE_INFINITY;
      candidates.sort(
        (a, b) =>
          rate(b.uploadRate) - rate(a.uploadRate) || (since(b) > since(a) ? 1 : since(b) < since(a) ? -1 : 0),
      );
    } else {
      candidates.sort((a, b) => rate(b.downloadRate) - rate(a.downloadRate));
    }
    const unchoke = new Set(candidates.slice(0, this.uploadSlots - 1).map((p) => p.id));

    const current = this.#optimistic;
    const expired =
      ctx.now - this.#optimisticSince >= OPTIMISTIC_UNCHOKE_INTERVAL_MS || ctx.now < this.#optimisticSince;
    const keep =
      current !== undefined && !expired && !unchoke.has(current) && interested.some((p) => p.id === current);
    if (!keep) {
      const pool = interested.filter((p) => !unchoke.has(p.id));
      // Rotation means someone else gets the chance, unless nobody else wants it.
      const others = pool.filter((p) => p.id !== current);
      this.#optimistic = this.#draw(others.length > 0 ? others : pool, ctx.now);
      this.#optimisticSince = ctx.now;
    }
    if (this.#optimistic !== undefined) unchoke.add(this.#optimistic);

    for (const id of unchoke) lastUnchokedAt.set(id, ctx.now);
    return unchoke;
  }

  #draw(pool: readonly ChokerPeer[], now: number): string | undefined {
    if (pool.length === 0) return undefined;
    const weights = pool.map((p) =>
      now - p.connectedAt < OPTIMISTIC_UNCHOKE_INTERVAL_MS ? NEW_PEER_OPTIMISTIC_WEIGHT : 1,
    );
    let ticket = this.#random.int(weights.reduce((sum, w) => sum + w, 0));
    for (let i = 0; i < pool.length; i++) {
      ticket -= weights[i];
      if (ticket < 0) return pool[i].id;
    }
    return pool[pool.length - 1].id;
  }
}
