import { Random, type Seed } from '../../peer/random.js';
import { TrackerConfigError } from '../errors.js';
import type { PeerSelector, SelectionRequest } from '../peer-selector.js';
import type { PeerView, SwarmView } from '../swarm-registry.js';

export interface QosSelectorInit {
  readonly seed: Seed;
  /** Share of each list drawn uniformly from the whole swarm, so it stays one connected graph. */
  readonly randomShare?: number;
  /** Random candidates scored per announce, at least; bounds the work in large swarms. */
  readonly minCandidates?: number;
  /** ... and at least this many times the peers wanted. */
  readonly candidatesPerWanted?: number;
  /** A delay of this many ms halves a candidate's score. */
  readonly delayScaleMs?: number;
  /** Half-life of the "recently handed out" load estimate; the announce interval is a good value. */
  readonly loadHalfLifeSec?: number;
}

export const QOS_DEFAULTS = {
  randomShare: 0.2,
  minCandidates: 100,
  candidatesPerWanted: 2,
  delayScaleMs: 50,
  loadHalfLifeSec: 60,
} as const;

/** Decaying count of times a peer was handed to downloaders recently. */
interface Handouts {
  value: number;
  atMs: number;
}

interface Scored {
  readonly peer: PeerView;
  readonly delayMs: number | undefined;
  readonly spareBps: number | undefined;
  score: number;
}

/**
 * Prefers candidates with spare upstream and a short delay to the asking peer (README-extension.md
 * explains the estimate). Only a bounded pool is scored: every peer with a known delay to or from
 * the asker plus a random sample of the swarm, so an announce costs about the same in a swarm of
 * 100 or 100,000. Peers that report nothing get the pool's median values, neither favoured nor starved,
 * so with no extended peers at all the result is a random list like `RandomSelector`'s.
 */
export class QosSelector implements PeerSelector {
  readonly name = 'qos';
  readonly #random: Random;
  readonly #randomShare: number;
  readonly #minCandidates: number;
  readonly #candidatesPerWanted: number;
  readonly #delayScaleMs: number;
  readonly #halfLifeMs: number;
  readonly #handouts = new WeakMap<PeerView, Handouts>();

  constructor(init: QosSelectorInit) {
    this.#random = new Random(init.seed).fork('qos-selector');
    this.#randomShare = init.randomShare ?? QOS_DEFAULTS.randomShare;
    this.#minCandidates = init.minCandidates ?? QOS_DEFAULTS.minCandidates;
    this.#candidatesPerWanted = init.candidatesPerWanted ?? QOS_DEFAULTS.candidatesPerWanted;
    this.#delayScaleMs = init.delayScaleMs ?? QOS_DEFAULTS.delayScaleMs;
    this.#halfLifeMs = (init.loadHalfLifeSec ?? QOS_DEFAULTS.loadHalfLifeSec) * 1000;
    if (!(this.#randomShare >= 0 && this.#randomShare <= 1)) {
      throw new TrackerConfigError(`randomShare must be within [0, 1], got ${this.#randomShare}`);
    }
    if (!(this.#delayScaleMs > 0))
      throw new TrackerConfigError(`delayScaleMs must be > 0, got ${this.#delayScaleMs}`);
    if (!(this.#halfLifeMs > 0)) throw new TrackerConfigError('loadHalfLifeSec must be > 0');
    if (!(this.#minCandidates >= 1 && this.#candidatesPerWanted >= 1)) {
      throw new TrackerConfigError('minCandidates and candidatesPerWanted must be >= 1');
    }
  }

  select(req: SelectionRequest): PeerView[] {
    const { swarm, asker, count, nowMs } = req;
    if (count <= 0 || swarm.size <= 1) return [];
    const randomCount = Math.round(count * this.#randomShare);
    const rankedCount = count - randomCount;

    // Delays are looked up from the few peers known to be measured, not per candidate: a
    // string-keyed lookup per candidate into another peer's reports would dominate the cost.
    const known = knownDelays(swarm, asker);
    const pool = new Set<PeerView>(known.keys());
    const poolSize = Math.max(this.#minCandidates, count * this.#candidatesPerWanted);
    for (const peer of swarm.sample(poolSize, this.#random, asker)) pool.add(peer);

    const scored: Scored[] = [];
    for (const peer of pool) {
      scored.push({
        peer,
        delayMs: known.get(peer),
        spareBps:
          peer.upstreamBps === undefined
            ? undefined
            : peer.upstreamBps / (1 + this.#load(swarm, peer, nowMs)),
        score: 0,
      });
    }
    this.#score(scored);
    // Stable sort: equal scores keep the pool's random order.
    scored.sort(byScoreDescending);

    const chosen: PeerView[] = [];
    const taken = new Set<PeerView>();
    for (let i = 0; i < scored.length && chosen.length < rankedCount; i++) {
      chosen.push(scored[i].peer);
      taken.add(scored[i].peer);
    }
    const extra = swarm.sample(count - chosen.length, this.#random, asker, (p) => taken.has(p));
    chosen.push(...extra);

    if (!asker.seed) for (const peer of chosen) this.#noteHandout(peer, nowMs);
    return chosen;
  }

  /**
   * Downloaders known to use this peer: peers whose latest report includes a delay to it (one
   * measures delay to the peers one is connected to), plus recent handouts not yet reported.
   */
  #load(swarm: SwarmView, peer: PeerView, nowMs: number): number {
    return swarm.reportCount(peer) + this.#handoutsNow(peer, nowMs);
  }

  #handoutsNow(peer: PeerView, nowMs: number): number {
    const h = this.#handouts.get(peer);
    if (h === undefined) return 0;
    return h.value * 2 ** (-Math.max(0, nowMs - h.atMs) / this.#halfLifeMs);
  }

  #noteHandout(peer: PeerView, nowMs: number): void {
    const h = this.#handouts.get(peer);
    if (h === undefined) {
      this.#handouts.set(peer, { value: 1, atMs: nowMs });
      return;
    }
    h.value = this.#handoutsNow(peer, nowMs) + 1;
    h.atMs = nowMs;
  }

  /** Fills unknown values with the pool's medians, then score = spare / (1 + delay / scale). */
  #score(scored: Scored[]): void {
    const delayFill = median(scored.map(delayOf)) ?? this.#delayScaleMs;
    const spareFill = median(scored.map(spareOf)) ?? 1;
    for (const s of scored) {
      const delay = s.delayMs ?? delayFill;
      const spare = s.spareBps ?? spareFill;
      s.score = spare / (1 + delay / this.#delayScaleMs);
    }
  }
}

const delayOf = (s: Scored): number | undefined => s.delayMs;
const spareOf = (s: Scored): number | undefined => s.spareBps;
const byScoreDescending = (a: Scored, b: Scored): number => b.score - a.score;

/**
 * Every peer with a known delay to the asker: first what the asker measured itself, else what
 * the peer measured to the asker.
 */
export function knownDelays(swarm: SwarmView, asker: PeerView): Map<PeerView, number> {
  const known = new Map<PeerView, number>();
  for (const ep of endpointsOf(asker)) {
    const reporters = swarm.reportersAbout(ep);
    if (reporters === undefined) continue;
    for (const peer of reporters) {
      const d = peer.delays?.get(ep);
      if (peer !== asker && d !== undefined) known.set(peer, d);
    }
  }
  if (asker.delays !== undefined) {
    for (const [endpoint, d] of asker.delays) {
      const peer = swarm.peerAt(endpoint);
      if (peer !== undefined && peer !== asker) known.set(peer, d);
    }
  }
  return known;
}

function endpointsOf(peer: PeerView): string[] {
  const out: string[] = [];
  if (peer.v4 !== undefined) out.push(peer.v4.text);
  if (peer.v6 !== undefined) out.push(peer.v6.text);
  return out;
}

/** Median of the defined values; a typed array so the sort is numeric and native. */
function median(values: readonly (number | undefined)[]): number | undefined {
  let n = 0;
  for (const v of values) if (v !== undefined) n++;
  if (n === 0) return undefined;
  const known = new Float64Array(n);
  let i = 0;
  for (const v of values) if (v !== undefined) known[i++] = v;
  known.sort();
  const mid = n >> 1;
  return n % 2 === 1 ? known[mid] : (known[mid - 1] + known[mid]) / 2;
}
