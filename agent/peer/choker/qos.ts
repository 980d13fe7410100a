import type { Random } from '../random.js';
import {
  type Choker,
  type ChokerPeer,
  OPTIMISTIC_UNCHOKE_INTERVAL_MS,
  type RechokeContext,
} from './choker.js';
import { ChokerInitError } from './errors.js';
import { DEFAULT_UPLOAD_SLOTS, NEW_PEER_OPTIMISTIC_WEIGHT } from './tit-for-tat.js';

/** The round trip at which a peer's score is halved: latency weighs as much as rate there. */
export const DEFAULT_LATENCY_SCALE_MS = 100;

export interface QosChokerInit {
  /** Breaks ties and draws the optimistic unchoke; pass a fork dedicated to this choker. */
  readonly random: Random;
  /** Upload slots including the optimistic one. Default DEFAULT_UPLOAD_SLOTS. */
  readonly uploadSlots?: number;
  /**
   * Our upstream capacity in bytes/s. With it, bitrate requirements are checked against a fair
   * share of it; without it they are assumed met (a rate seen so far says nothing of capacity).
   */
  readonly uploadCapacityBytesPerSecond?: number;
  /** See DEFAULT_LATENCY_SCALE_MS. */
  readonly latencyScaleMs?: number;
}

/** Measurements come from measurement code; anything not a finite non-negative number counts as unknown. */
function measured(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function rate(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function byId(a: ChokerPeer, b: ChokerPeer): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Whether every need (bytes/s, ascending) is met when `capacity` is shared max-min fairly among
 * those flows and `others` flows that take all they can get (as TCP flows share a bottleneck).
 */
export function fairShareMeets(capacity: number, needsAscending: readonly number[], others: number): boolean {
  let remaining = capacity;
  let flows = needsAscending.length + others;
  for (const need of needsAscending) {
    if (need > remaining / flows) return false;
    remaining -= need;
    flows--;
  }
  return true;
}

interface Ranked {
  readonly peer: ChokerPeer;
  readonly score: number;
  /** bytes/s the peer requires, 0 when it requires no bitrate. */
  readonly needBytesPerSecond: number;
}

/**
 * A choker for streaming swarms: it weighs each peer's measured round trip with its rate
 * (reciprocation while leeching, what we manage to send it while seeding), and honours the
 * `require` constraints peers announce.
 *
 * Regular slots (`uploadSlots - 1`) go first to peers with constraints we can meet (their round
 * trip within their maximum response delay, their bitrate within a fair share of our capacity),
 * best score first; then to ordinary peers; then to peers whose constraints we cannot meet, and
 * snubbed peers — so high-delay and ordinary peers are still served when nobody better wants
 * data. An ordinary peer only takes a regular slot if the constrained peers' bitrates still fit
 * in their fair share with it. The last slot is an optimistic unchoke as in tit-for-tat (kept
 * OPTIMISTIC_UNCHOKE_INTERVAL_MS, newcomers likelier), drawn from everyone else interested.
 *
 * Output depends only on the seed and the sequence of inputs, not on the order of `peers`.
 */
export class QosChoker implements Choker {
  readonly name = 'qos';
  readonly uploadSlots: number;
  readonly uploadCapacityBytesPerSecond: number | undefined;
  readonly latencyScaleMs: number;
  readonly #random: Random;
  #optimistic: string | undefined;
  #optimisticSince = 0;

  constructor(init: QosChokerInit) {
    const uploadSlots = init.uploadSlots ?? DEFAULT_UPLOAD_SLOTS;
    if (!Number.isSafeInteger(uploadSlots) || uploadSlots < 1) {
      throw new ChokerInitError(`uploadSlots must be a positive integer, got ${uploadSlots}`);
    }
    const capacity = init.uploadCapacityBytesPerSecond;
    if (capacity !== undefined && !(capacity > 0 && capacity <= Number.POSITIVE_INFINITY)) {
      throw new ChokerInitError(`uploadCapacityBytesPerSecond must be positive, got ${capacity}`);
    }
    const scale = init.latencyScaleMs ?? DEFAULT_LATENCY_SCALE_MS;
    if (!(Number.isFinite(scale) && scale > 0)) {
      throw new ChokerInitError(`latencyScaleMs must be a positive number, got ${scale}`);
    }
    this.uploadSlots = uploadSlots;
    this.uploadCapacityBytesPerSecond = capacity === Number.POSITIVE_INFINITY ? undefined : capacity;
    this.latencyScaleMs = scale;
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

    const feasible: Ranked[] = [];
    const ordinary: Ranked[] = [];
    const last: Ranked[] = [];
    // Shuffled first so that equal scores are ordered by the seed, not by id.
    for (const peer of this.#random.shuffle([...interested])) {
      const r = this.#rank(peer, ctx.seeding);
      const constrained = peer.requiredBitrateBps !== undefined || peer.maxResponseDelayMs !== undefined;
      if (!ctx.seeding && peer.snubbed) last.push(r);
      else if (!constrained) ordinary.push(r);
      else if (this.#delayMet(peer)) feasible.push(r);
      else last.push(r);
    }
    const byScore = (a: Ranked, b: Ranked): number =>
      b.score - a.score || (a.peer.choked === b.peer.choked ? 0 : a.peer.choked ? 1 : -1);
    feasible.sort(byScore);
    ordinary.sort(byScore);

    const regularSlots = this.uploadSlots - 1;
    const capacity = this.uploadCapacityBytesPerSecond;
    const regular: Ranked[] = [];
    /** Bitrates (bytes/s) of the constrained peers holding regular slots. */
    const needs: number[] = [];
    /** Regular peers without a bitrate need: they take whatever share they get. */
    let greedy = 0;
    // The optimistic slot is one more greedy flow sharing the capacity.
    const meets = (extraNeed: number, extraGreedy: number): boolean =>
      capacity === undefined ||
      fairShareMeets(
        capacity,
        (extraNeed > 0 ? [...needs, extraNeed] : needs).sort((a, b) => a - b),
        greedy + extraGreedy + 1,
      );
    for (const r of feasible) {
      if (regular.length >= regularSlots) break;
      const need = r.needBytesPerSecond;
      if (!meets(need, need > 0 ? 0 : 1)) {
        last.push(r);
        continue;
      }
      regular.push(r);
      if (need > 0) needs.push(need);
      else greedy++;
    }
    last.sort(byScore);
    for (const r of [...ordinary, ...last]) {
      if (regular.length >= regularSlots) break;
      if (!meets(0, 1)) break;
      regular.push(r);
      greedy++;
    }
    const unchoke = new Set(regular.map((r) => r.peer.id));

    const current = this.#optimistic;
    const expired =
      ctx.now - this.#optimisticSince >= OPTIMISTIC_UNCHOKE_INTERVAL_MS || ctx.now < this.#optimisticSince;
    const keep =
      current !== undefined && !expired && !unchoke.has(current) && interested.some((p) => p.id === current);
    if (!keep) {
      const pool = interested.filter((p) => !unchoke.has(p.id));
      const others = pool.filter((p) => p.id !== current);
      this.#optimistic = this.#draw(others.length > 0 ? others : pool, ctx.now);
      this.#optimisticSince = ctx.now;
    }
    if (this.#optimistic !== undefined) unchoke.add(this.#optimistic);
    return unchoke;
  }

  /** Score: rate (plus one byte/s, so idle peers still rank by latency) times a latency discount. */
  #rank(peer: ChokerPeer, seeding: boolean): Ranked {
    const r = rate(seeding ? peer.uploadRate : peer.downloadRate);
    const rtt = measured(peer.rttMs) ?? this.latencyScaleMs;
    const score = ((r + 1) * this.latencyScaleMs) / (this.latencyScaleMs + rtt);
    const bitrate = measured(peer.requiredBitrateBps);
    return { peer, score, needBytesPerSecond: bitrate === undefined ? 0 : bitrate / 8 };
  }

  /** Its round trip is within its maximum response delay (unknown round trips get the benefit of the doubt). */
  #delayMet(peer: ChokerPeer): boolean {
    const max = measured(peer.maxResponseDelayMs);
    const rtt = measured(peer.rttMs);
    return max === undefined || rtt === undefined || rtt <= max;
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
