import type { PlaybackView } from '../playback/playback-view.js';
import type { Random } from '../random.js';
import { BLOCK_LENGTH } from '../wire/constants.js';
import type { BlockRef, PickerPeer, PickOptions, PiecePicker } from './piece-picker.js';
import { BLOCK_FREE, BLOCK_REQUESTED, type PieceDownload, type PieceTable } from './piece-table.js';
import {
  claimEndgameDuplicates,
  downloadsInPlaybackOrder,
  playbackStart,
  SequentialPicker,
} from './sequential.js';
import { StrategyOptions } from './strategy-options.js';

/** Parameters of the `deadline` strategy unless the experiment says otherwise. */
export const DEADLINE_DEFAULTS = {
  /** A needed piece whose deadline is this close (ms) is urgent. */
  urgentHorizonMs: 5_000,
  /** With this much media buffered (ms) the picker spends spare requests on rare pieces. */
  healthyBufferMs: 10_000,
  /** A block is late once it waited this many times what a lone block from its peer takes. */
  lateFactor: 2,
  /** Non-urgent work a peer may hold, in ms of its expected delivery time. */
  queueBudgetMs: 1_000,
} as const;

/** No measured rate and a request at least this old (ms): the peer is not delivering. */
export const UNRESPONSIVE_AFTER_MS = 2_000;
/** Rate assumed for every peer while none has a measured one: only weighs queues against RTTs. */
export const NOMINAL_RATE_BPS = 1_048_576;
/** However slow, a peer may hold this many non-urgent blocks, so its link keeps pipelining. */
export const MIN_QUEUE_BLOCKS = 4;
/** Late blocks re-requested per pick at most, to bound duplicate traffic. */
export const MAX_LATE_DUPLICATES = 16;
/** Effective rate of a peer that is not delivering: any responsive peer beats it. */
const UNRESPONSIVE_RATE_BPS = 1;

export interface DeadlinePickerInit {
  readonly table: PieceTable;
  /** Breaks ties between equally rare pieces; pass a fork dedicated to this picker. */
  readonly random: Random;
  /** `urgentHorizonMs`, `healthyBufferMs`, `queueBudgetMs` (ms or "2s"), `lateFactor` (>= 1). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** The player; without one the picker works in sequential order. */
  readonly playback?: PlaybackView;
  /** Every connected peer (rates, RTTs, choking), to route urgent pieces to the fastest. */
  readonly peers?: () => readonly PickerPeer[];
  /** The clock of `playback` deadlines and of `PieceDownload.requestedAt`. Default `Date.now`. */
  readonly now?: () => number;
}

/** What the picker expects of one requester (a peer, or a source outside the wire) right now. */
interface Estimate {
  readonly id: string;
  /** Undefined for a requester that is not a connected peer (web seed, closed connection). */
  readonly peer: PickerPeer | undefined;
  rateBps: number;
  rttMs: number;
  /** Blocks requested from it and not yet received (including end-game duplicates). */
  queuedBlocks: number;
  oldestRequestAt: number;
  /** `requestedAt` of each queued block, sorted on first use. */
  readonly requestTimes: number[];
  sorted: boolean;
}

function measured(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Number of entries of sorted `times` below `t`. */
function countBelow(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function freeBytes(dl: PieceDownload): number {
  let bytes = 0;
  for (let b = 0; b < dl.blockCount; b++) if (dl.state[b] === BLOCK_FREE) bytes += dl.blockLength(b);
  return bytes;
}

/**
 * seedstream's own streaming strategy. Every needed piece has a deadline (the player's
 * `deadline(i)`); the pieces due within `urgentHorizonMs` are urgent. Since a stall happens at the
 * first missing piece, the deadline of that piece is the buffer, so the urgent window is what
 * the buffer does not cover yet.
 *
 * - Urgent pieces go to the peer expected to deliver them first: each peer's finish time is its
 *   RTT plus what it already has queued plus the piece, at its measured rate (unknown rate: the
 *   average). Urgent pieces are placed in deadline order on the earliest-finishing peer (list
 *   scheduling), so a fast peer takes the first ones until its queue makes a slower peer finish
 *   sooner. The peer asking gets only what the schedule gives it; peers choking us take no part.
 * - Late blocks of urgent pieces (waiting longer than `lateFactor` times a lone block from their
 *   peer) are requested again from the asking peer when it is expected to deliver them sooner;
 *   the first copy to arrive wins and the torrent cancels the other.
 * - Spare capacity goes to non-urgent pieces, at most `queueBudgetMs` of work per peer, so that
 *   no pipeline is ever deep in far-ahead pieces when a piece becomes urgent. With the buffer
 *   below `healthyBufferMs` these are the next pieces in playback order; above it, the rarest
 *   pieces (random tie-break), which the swarm needs most. A peer never gets a non-urgent piece it
 *   is not expected to deliver before its deadline: that piece is left for a faster peer.
 * - Started pieces keep strict priority within each tier; end game as rarest-first.
 *
 * Without a player there are no deadlines: the picker falls back to sequential order.
 */
export class DeadlinePicker implements PiecePicker {
  readonly name = 'deadline';
  readonly urgentHorizonMs: number;
  readonly healthyBufferMs: number;
  readonly lateFactor: number;
  readonly queueBudgetMs: number;
  readonly #table: PieceTable;
  readonly #random: Random;
  readonly #playback: PlaybackView | undefined;
  readonly #peers: () => readonly PickerPeer[];
  readonly #now: () => number;
  readonly #sequential: SequentialPicker;

  constructor(init: DeadlinePickerInit) {
    const options = new StrategyOptions('deadline', init.options, [
      'urgentHorizonMs',
      'healthyBufferMs',
      'lateFactor',
      'queueBudgetMs',
    ]);
    this.urgentHorizonMs = options.durationMs('urgentHorizonMs', DEADLINE_DEFAULTS.urgentHorizonMs, {
      min: 0,
    });
    this.healthyBufferMs = options.durationMs('healthyBufferMs', DEADLINE_DEFAULTS.healthyBufferMs, {
      min: 0,
    });
    this.lateFactor = options.number('lateFactor', DEADLINE_DEFAULTS.lateFactor, { min: 1 });
    this.queueBudgetMs = options.durationMs('queueBudgetMs', DEADLINE_DEFAULTS.queueBudgetMs, {
      min: 0,
      minExclusive: true,
    });
    this.#table = init.table;
    this.#random = init.random;
    this.#playback = init.playback;
    this.#peers = init.peers ?? (() => []);
    this.#now = init.now ?? Date.now;
    this.#sequential = new SequentialPicker({ table: init.table });
  }

  pick(peer: PickerPeer, max: number, opts?: PickOptions): BlockRef[] {
    const view = this.#playback;
    if (view === undefined) return this.#sequential.pick(peer, max, opts);
    const out: BlockRef[] = [];
    if (max <= 0) return out;
    const table = this.#table;
    const now = this.#now();
    const allowed = opts?.onlyPieces;
    const usable = (piece: number): boolean =>
      peer.have.has(piece) && (allowed === undefined || allowed.has(piece));
    const start = playbackStart(view, table.pieceCount);
    const deadline = (piece: number): number => {
      const d = view.deadline(piece);
      return Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
    };

    const urgent = this.#urgentPieces(start, now, deadline);
    const estimates = this.#survey(peer, now);
    const self = estimates.get(peer.id)!;
    // When each peer could start on new bytes (ms from now); grows as work is placed on it.
    const freeAt = new Map<string, number>();
    for (const e of estimates.values()) {
      freeAt.set(
        e.id,
        e.rttMs / 2 + Math.max(e.rttMs / 2, (e.queuedBlocks * BLOCK_LENGTH * 1000) / e.rateBps),
      );
    }

    this.#placeUrgent(peer, max, urgent, estimates, freeAt, usable, out);
    if (out.length < max) this.#duplicateLate(peer, max, urgent, estimates, freeAt, now, usable, out);

    const budget = Math.max(
      MIN_QUEUE_BLOCKS,
      Math.ceil((self.rateBps * Math.max(this.queueBudgetMs, 2 * self.rttMs)) / 1000 / BLOCK_LENGTH),
    );
    const room = Math.min(max - out.length, budget - self.queuedBlocks - out.length);
    if (room > 0) {
      const healthy = view.bufferedMs >= this.healthyBufferMs;
      const urgentSet = new Set(urgent);
      const feasible = (piece: number, bytes: number): boolean =>
        piece < start || deadline(piece) - now >= freeAt.get(peer.id)! + (bytes * 1000) / self.rateBps;
      this.#fillSpare(
        peer,
        out.length + room,
        start,
        healthy,
        urgentSet,
        feasible,
        usable,
        self.rateBps,
        freeAt,
        out,
      );
    }

    if (out.length < max && table.endgame) {
      claimEndgameDuplicates(table, peer.id, downloadsInPlaybackOrder(table, start), usable, max, out);
    }
    return out;
  }

  /** Needed pieces ahead of the playhead due within the horizon, in deadline (= playback) order. */
  #urgentPieces(start: number, now: number, deadline: (piece: number) => number): number[] {
    const table = this.#table;
    const urgent: number[] = [];
    for (let i = start; i < table.pieceCount; i++) {
      if (!table.needs(i)) continue;
      // Deadlines follow playback order, so the first needed piece beyond the horizon ends the window.
      if (deadline(i) - now > this.urgentHorizonMs) break;
      urgent.push(i);
    }
    return urgent;
  }

  /**
   * Rates, RTTs and queues of every connected peer and every requester in the table. Unknown
   * rates and RTTs are the average of the known ones; a peer sitting on old requests without a
   * measured rate, or far behind what its rate promises, is rated by what it actually delivers.
   */
  #survey(self: PickerPeer, now: number): Map<string, Estimate> {
    const estimates = new Map<string, Estimate>();
    const add = (id: string, peer: PickerPeer | undefined): Estimate => {
      let e = estimates.get(id);
      if (e === undefined) {
        e = {
          id,
          peer,
          rateBps: 0,
          rttMs: 0,
          queuedBlocks: 0,
          oldestRequestAt: Number.POSITIVE_INFINITY,
          requestTimes: [],
          sorted: false,
        };
        estimates.set(id, e);
      }
      return e;
    };
    add(self.id, self);
    for (const p of this.#peers()) add(p.id, p);
    for (const dl of this.#table.downloads.values()) {
      for (let b = 0; b < dl.blockCount; b++) {
        if (dl.state[b] !== BLOCK_REQUESTED) continue;
        const at = dl.requestedAt[b];
        for (const id of dl.requestersOf(b)) {
          const e = add(id, undefined);
          e.queuedBlocks++;
          e.requestTimes.push(at);
          if (at < e.oldestRequestAt) e.oldestRequestAt = at;
        }
      }
    }
    const rates: number[] = [];
    const rtts: number[] = [];
    for (const e of estimates.values()) {
      const rate = measured(e.peer?.downloadRate);
      if (rate !== undefined) rates.push(rate);
      const rtt = e.peer?.rttMs;
      if (rtt !== undefined && Number.isFinite(rtt) && rtt >= 0) rtts.push(rtt);
    }
    const averageRate = mean(rates) ?? NOMINAL_RATE_BPS;
    const averageRtt = mean(rtts) ?? 0;
    for (const e of estimates.values()) {
      const rtt = e.peer?.rttMs;
      e.rttMs = rtt !== undefined && Number.isFinite(rtt) && rtt >= 0 ? rtt : averageRtt;
      const waited = now - e.oldestRequestAt;
      const rate = measured(e.peer?.downloadRate);
      if (rate === undefined) {
        e.rateBps =
          e.queuedBlocks > 0 && waited >= UNRESPONSIVE_AFTER_MS ? UNRESPONSIVE_RATE_BPS : averageRate;
        continue;
      }
      // The oldest request has waited longer than the whole queue should take: the measured rate
      // (a rolling window) is stale, so rate the peer by what it has failed to deliver since.
      const queuedBytes = e.queuedBlocks * BLOCK_LENGTH;
      const promisedMs = this.lateFactor * (e.rttMs + (queuedBytes * 1000) / rate);
      e.rateBps =
        e.queuedBlocks > 0 && waited > promisedMs + UNRESPONSIVE_AFTER_MS
          ? Math.max(UNRESPONSIVE_RATE_BPS, Math.min(rate, (queuedBytes * 1000) / waited))
          : rate;
    }
    return estimates;
  }

  /**
   * List scheduling of the urgent pieces' free blocks: each piece, in deadline order, goes to the
   * unchoking peer that would finish it first; `peer` claims the pieces that land on it. The asking
   * peer wins ties, so equal peers never leave a piece waiting.
   */
  #placeUrgent(
    peer: PickerPeer,
    max: number,
    urgent: readonly number[],
    estimates: ReadonlyMap<string, Estimate>,
    freeAt: Map<string, number>,
    usable: (piece: number) => boolean,
    out: BlockRef[],
  ): void {
    const table = this.#table;
    const others = [...estimates.values()]
      .filter((e) => e.id !== peer.id && e.peer !== undefined && e.peer.peerChoking !== true)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const candidates = [estimates.get(peer.id)!, ...others];
    for (const piece of urgent) {
      if (out.length >= max) return;
      const dl = table.downloads.get(piece);
      const bytes = dl === undefined ? table.pieceSize(piece) : freeBytes(dl);
      if (bytes === 0) continue;
      let best: Estimate | undefined;
      let bestFinish = Number.POSITIVE_INFINITY;
      for (const e of candidates) {
        if (e.id === peer.id ? !usable(piece) : !e.peer!.have.has(piece)) continue;
        const finish = freeAt.get(e.id)! + (bytes * 1000) / e.rateBps;
        if (finish < bestFinish) {
          best = e;
          bestFinish = finish;
        }
      }
      if (best === undefined) continue;
      freeAt.set(best.id, bestFinish);
      if (best.id === peer.id) table.claim(piece, peer.id, max - out.length, out);
    }
  }

  /**
   * Requests again from `peer` the late blocks of urgent pieces that it is expected to deliver
   * before their current requester: a block is late once it waited `lateFactor` times what a lone
   * block from that requester takes; the requester's finish time counts the blocks queued before
   * it. A block already duplicated is left alone: one rescue per block bounds the waste.
   */
  #duplicateLate(
    peer: PickerPeer,
    max: number,
    urgent: readonly number[],
    estimates: ReadonlyMap<string, Estimate>,
    freeAt: Map<string, number>,
    now: number,
    usable: (piece: number) => boolean,
    out: BlockRef[],
  ): void {
    const table = this.#table;
    const self = estimates.get(peer.id)!;
    const blockMs = (BLOCK_LENGTH * 1000) / self.rateBps;
    const limit = Math.min(max, out.length + MAX_LATE_DUPLICATES);
    for (const piece of urgent) {
      if (out.length >= limit) return;
      const dl = table.downloads.get(piece);
      if (dl === undefined || !usable(piece)) continue;
      const accept = (b: number): boolean => {
        const holder = dl.requester[b];
        if (holder === undefined || dl.duplicates.has(b)) return false;
        const q = estimates.get(holder)!;
        const at = dl.requestedAt[b];
        const loneMs = q.rttMs + (dl.blockLength(b) * 1000) / q.rateBps;
        if (now - at <= this.lateFactor * loneMs) return false;
        if (!q.sorted) {
          q.requestTimes.sort((x, y) => x - y);
          q.sorted = true;
        }
        let ahead = countBelow(q.requestTimes, at);
        // Blocks of one request batch share a timestamp; the torrent sends them in block order.
        for (let k = 0; k < b; k++) if (dl.requester[k] === holder && dl.requestedAt[k] === at) ahead++;
        const holderFinish = q.rttMs / 2 + ((ahead + 1) * BLOCK_LENGTH * 1000) / q.rateBps;
        const ownFinish = freeAt.get(peer.id)! + blockMs;
        if (ownFinish >= holderFinish) return false;
        freeAt.set(peer.id, ownFinish);
        return true;
      };
      table.claimDuplicate(piece, peer.id, limit - out.length, out, accept);
    }
  }

  /**
   * Non-urgent work up to `limit` blocks in all: started pieces first (playback order), then new
   * pieces in playback order, or rarest first when the buffer is healthy; only pieces `peer` is
   * expected to deliver before their deadline.
   */
  #fillSpare(
    peer: PickerPeer,
    limit: number,
    start: number,
    healthy: boolean,
    urgent: ReadonlySet<number>,
    feasible: (piece: number, bytes: number) => boolean,
    usable: (piece: number) => boolean,
    rateBps: number,
    freeAt: Map<string, number>,
    out: BlockRef[],
  ): void {
    const table = this.#table;
    const take = (piece: number): boolean => {
      const before = out.length;
      table.claim(piece, peer.id, limit - out.length, out);
      let bytes = 0;
      for (let k = before; k < out.length; k++) bytes += out[k].length;
      // Later pieces are judged feasible behind the work just given to this peer.
      freeAt.set(peer.id, freeAt.get(peer.id)! + (bytes * 1000) / rateBps);
      return bytes > 0;
    };
    for (const dl of downloadsInPlaybackOrder(table, start)) {
      if (out.length >= limit) return;
      if (dl.free === 0 || urgent.has(dl.index) || !usable(dl.index)) continue;
      if (feasible(dl.index, freeBytes(dl))) take(dl.index);
    }
    const n = table.pieceCount;
    const candidate = (i: number): boolean =>
      table.isUnstarted(i) && !urgent.has(i) && usable(i) && feasible(i, table.pieceSize(i));
    if (!healthy) {
      for (let k = 0; k < n && out.length < limit; k++) {
        const i = (start + k) % n;
        if (candidate(i)) take(i);
      }
      return;
    }
    while (out.length < limit) {
      const piece = this.#rarest(candidate);
      if (piece < 0 || !take(piece)) return;
    }
  }

  /** Rarest candidate piece; ties broken by a seeded random rotation of the scan. */
  #rarest(candidate: (piece: number) => boolean): number {
    const table = this.#table;
    const n = table.pieceCount;
    const first = this.#random.int(n);
    let best = -1;
    let bestAvailability = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const i = (first + k) % n;
      const a = table.availabilityOf(i);
      if (a >= bestAvailability || !candidate(i)) continue;
      best = i;
      bestAvailability = a;
    }
    return best;
  }
}
