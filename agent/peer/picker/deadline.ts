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
  /** A needed piece due within this many ms is urgent. */
  urgentHorizonMs: 5_000,
  /** Below this much media buffered (ms), spare requests fill the buffer; above, rare pieces. */
  healthyBufferMs: 10_000,
  /** A block is late once it has waited this many times its expected wait. */
  lateFactor: 1.5,
  /** Work a peer may have queued, in ms of its expected delivery time. */
  queueBudgetMs: 3_000,
  /** Share of spare requests for the swarm's rarest pieces before the buffer is healthy. */
  rareShare: 0.2,
} as const;

/** Options `deadline` accepts. */
export const DEADLINE_OPTIONS = Object.keys(DEADLINE_DEFAULTS);

/** No measured rate and a request at least this old (ms): the peer is not delivering. */
export const UNRESPONSIVE_AFTER_MS = 2_000;
/** Rate assumed for every peer while none has a measured one: only weighs queues against RTTs. */
export const NOMINAL_RATE_BPS = 1_048_576;
/** However slow, a peer may hold this many blocks (the torrent's minimum pipeline), so its link stays busy. */
export const MIN_QUEUE_BLOCKS = 16;
/** Late blocks re-requested per pick at most, to bound duplicate traffic. */
export const MAX_LATE_DUPLICATES = 16;
/** While playing, a piece goes to a non-seed instead of a seed if it finishes within this share of its slack. */
export const SEED_SPARING_SLACK = 0.5;
/** Effective rate of a peer that is not delivering: any responsive peer beats it. */
const UNRESPONSIVE_RATE_BPS = 1;
/** Block keys: piece * this + block (pieces are far below 2^32 blocks of 16 KiB). */
const BLOCK_KEY_STRIDE = 0x20_0000;

export interface DeadlinePickerInit {
  readonly table: PieceTable;
  /** Breaks ties between equally rare pieces; pass a fork dedicated to this picker. */
  readonly random: Random;
  /** See DEADLINE_DEFAULTS; durations in ms or as strings such as "5s". */
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

/** The state of one `pick` call. */
interface Round {
  readonly peer: PickerPeer;
  /** At most this many blocks in `out` (the caller's max). */
  readonly limit: number;
  /** New requests the asking peer's queue budget still allows (late-block rescues are exempt). */
  readonly room: { left: number };
  readonly out: BlockRef[];
  readonly now: number;
  readonly usable: (piece: number) => boolean;
  readonly estimates: ReadonlyMap<string, Estimate>;
  readonly self: Estimate;
  /** When each requester could start on new bytes (ms from now); grows as work is placed. */
  readonly freeAt: Map<string, number>;
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

function byId(a: Estimate, b: Estimate): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * seedstream's own streaming strategy. Every needed piece has a deadline (the player's
 * `deadline(i)`); those due within `urgentHorizonMs` are urgent (before the start, also the whole
 * start-up buffer). A stall happens at the first missing piece, due when the buffer runs out, so
 * the urgent window is the part of the horizon the buffer does not cover yet.
 *
 * - Urgent pieces go to the peer expected to deliver them first. A peer's finish time is half its
 *   RTT, then what it already has queued (or the other half RTT, whichever is longer), then the
 *   piece, at its measured rate (unknown rate: the average; no rate known at all: equal rates).
 *   Urgent pieces are placed in deadline order on the earliest-finishing peer (list scheduling):
 *   a fast peer takes the first ones until its queue makes a slower one finish sooner, and the
 *   asking peer claims only what lands on it. Peers choking us take no part; nor do idle peers
 *   (nothing requested from them), since they will not ask again until some event.
 * - While playing, a seed's upload is kept for what only seeds have: an urgent piece that a
 *   non-seed peer has goes to the best such peer when it would finish within SEED_SPARING_SLACK
 *   of the piece's slack; the seed gets it back as the deadline nears.
 * - Every block this picker requests gets an expected wait (its peer's queue ahead of it, at the
 *   peer's rate). A block of an urgent piece that has waited `lateFactor` times that long is late,
 *   and is requested again from the asking peer if it is expected to deliver it sooner than the
 *   late peer (whose remaining queue is scaled by how late it runs). The first copy to arrive wins;
 *   the torrent cancels the other request.
 * - No peer holds more than `queueBudgetMs` of work, so a piece that turns urgent is never stuck
 *   behind a deep queue. Before the start nothing but the start-up window is requested. Once
 *   playing, spare room goes to non-urgent pieces the peer is expected to deliver in time: with the
 *   buffer below `healthyBufferMs`, the pieces up to that buffer, rarest first (peers near the
 *   same position fetch different pieces and trade them), ties in playback order, plus — once the
 *   buffer covers the urgent horizon — a share `rareShare` of the swarm's rarest pieces anywhere;
 *   with a healthy buffer, rarest first everywhere (seeded random tie-break), giving back to the
 *   swarm.
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
  readonly rareShare: number;
  readonly #table: PieceTable;
  readonly #random: Random;
  readonly #playback: PlaybackView | undefined;
  readonly #peers: () => readonly PickerPeer[];
  readonly #now: () => number;
  readonly #sequential: SequentialPicker;
  /** Expected wait (ms from its request) of each block this picker requested, by block key. */
  readonly #expected = new Map<number, { readonly peer: string; readonly waitMs: number }>();

  constructor(init: DeadlinePickerInit) {
    const options = new StrategyOptions('deadline', init.options, DEADLINE_OPTIONS);
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
    this.rareShare = options.number('rareShare', DEADLINE_DEFAULTS.rareShare, { min: 0, max: 1 });
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

    const estimates = this.#survey(peer, now);
    const self = estimates.get(peer.id)!;
    const freeAt = new Map<string, number>();
    for (const e of estimates.values()) {
      const queueMs = (e.queuedBlocks * BLOCK_LENGTH * 1000) / e.rateBps;
      freeAt.set(e.id, e.rttMs / 2 + Math.max(e.rttMs / 2, queueMs));
    }
    // Every peer's queue stays within `queueBudgetMs` of work, so that a piece that turns urgent
    // (or a block released by a choke) is never stuck behind seconds of earlier requests: requests
    // go out just in time, to the peer the schedule picks when it has room.
    const budget = Math.max(
      MIN_QUEUE_BLOCKS,
      Math.ceil((self.rateBps * Math.max(this.queueBudgetMs, 2 * self.rttMs)) / 1000 / BLOCK_LENGTH),
    );
    const room = { left: budget - self.queuedBlocks };
    const round: Round = { peer, limit: max, room, out, now, usable, estimates, self, freeAt };

    const urgent = this.#urgentPieces(start, now, deadline, view.started);
    this.#serveUrgent(round, urgent, view.started ? deadline : undefined);

    if (view.started && room.left > 0 && out.length < max) {
      const urgentSet = new Set(urgent);
      const feasible = (piece: number, bytes: number): boolean =>
        piece < start || deadline(piece) - now >= freeAt.get(peer.id)! + (bytes * 1000) / self.rateBps;
      this.#fillSpare(round, start, view.bufferedMs, urgentSet, feasible, deadline);
    }

    if (out.length < max && table.endgame) {
      claimEndgameDuplicates(table, peer.id, downloadsInPlaybackOrder(table, start), usable, max, out);
    }
    return out;
  }

  /**
   * Needed pieces ahead of the playhead due within the horizon, in deadline (= playback) order.
   * Before the start, the playhead piece is due a start-up buffer from now and the buffer's pieces
   * within twice that: the window always covers them, however long the start-up buffer.
   */
  #urgentPieces(start: number, now: number, deadline: (piece: number) => number, started: boolean): number[] {
    const table = this.#table;
    const urgent: number[] = [];
    let cutoff = now + this.urgentHorizonMs;
    if (!started && start < table.pieceCount) {
      const startup = deadline(start) - now;
      if (Number.isFinite(startup)) cutoff = Math.max(cutoff, now + 2 * startup);
    }
    for (let i = start; i < table.pieceCount; i++) {
      if (!table.needs(i)) continue;
      // Deadlines follow playback order, so the first needed piece beyond the cutoff ends the window.
      if (deadline(i) > cutoff) break;
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
    let requested = 0;
    for (const dl of this.#table.downloads.values()) {
      for (let b = 0; b < dl.blockCount; b++) {
        if (dl.state[b] !== BLOCK_REQUESTED) continue;
        requested++;
        const at = dl.requestedAt[b];
        for (const id of dl.requestersOf(b)) {
          const e = add(id, undefined);
          e.queuedBlocks++;
          e.requestTimes.push(at);
          if (at < e.oldestRequestAt) e.oldestRequestAt = at;
        }
      }
    }
    this.#pruneExpected(requested);

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
      // The oldest request has waited far longer than the whole queue should take: the measured
      // rate (a rolling window) is stale, so rate the peer by what it has failed to deliver since.
      const queuedBytes = e.queuedBlocks * BLOCK_LENGTH;
      const promisedMs = this.lateFactor * (e.rttMs + (queuedBytes * 1000) / rate);
      e.rateBps =
        e.queuedBlocks > 0 && waited > promisedMs + UNRESPONSIVE_AFTER_MS
          ? Math.max(UNRESPONSIVE_RATE_BPS, Math.min(rate, (queuedBytes * 1000) / waited))
          : rate;
    }
    return estimates;
  }

  /** Forgets expectations of blocks no longer requested, once they outnumber the live ones. */
  #pruneExpected(requested: number): void {
    if (this.#expected.size <= 2 * requested + 64) return;
    for (const [key, e] of this.#expected) {
      const dl = this.#table.downloads.get(Math.floor(key / BLOCK_KEY_STRIDE));
      const b = key % BLOCK_KEY_STRIDE;
      if (dl === undefined || dl.state[b] !== BLOCK_REQUESTED || dl.requester[b] !== e.peer)
        this.#expected.delete(key);
    }
  }

  /**
   * Claims free blocks of `piece` for the asking peer, up to the round's limit, recording when
   * each is expected (behind the peer's queue and everything placed on it so far).
   */
  #claim(round: Round, piece: number): number {
    const { peer, out, self, freeAt, room } = round;
    const before = out.length;
    this.#table.claim(piece, peer.id, Math.min(round.limit - out.length, room.left), out);
    room.left -= out.length - before;
    let at = freeAt.get(peer.id)!;
    for (let k = before; k < out.length; k++) {
      const block = out[k];
      at += (block.length * 1000) / self.rateBps;
      this.#expected.set(piece * BLOCK_KEY_STRIDE + block.begin / BLOCK_LENGTH, {
        peer: peer.id,
        waitMs: at,
      });
    }
    freeAt.set(peer.id, at);
    return out.length - before;
  }

  /**
   * The urgent pieces in deadline order. Free blocks: list scheduling, each piece goes to the
   * active unchoking peer that would finish it first; the asking peer claims the pieces that land
   * on it and wins ties, so equal peers never leave a piece waiting. Requested blocks: the late
   * ones the asking peer would deliver sooner are duplicated before any later piece is served.
   */
  #serveUrgent(round: Round, urgent: readonly number[], spareSeeds?: (piece: number) => number): void {
    const { peer, out, usable, estimates, freeAt } = round;
    const table = this.#table;
    const others = [...estimates.values()]
      .filter(
        (e) => e.id !== peer.id && e.peer !== undefined && e.peer.peerChoking !== true && e.queuedBlocks > 0,
      )
      .sort(byId);
    const candidates = [round.self, ...others];
    // Any unchoking peer that is not a seed may stand in for a seed, idle or not: it asks again at
    // its next HAVE, block or maintenance tick, and the seed takes the piece back as slack shrinks.
    const standIns = [
      round.self,
      ...[...estimates.values()]
        .filter((e) => e !== round.self && e.peer !== undefined && e.peer.peerChoking !== true)
        .sort(byId),
    ].filter((e) => !e.peer!.have.complete);
    const duplicates = { left: MAX_LATE_DUPLICATES };
    for (const piece of urgent) {
      if (out.length >= round.limit) return;
      const dl = table.downloads.get(piece);
      const bytes = dl === undefined ? table.pieceSize(piece) : freeBytes(dl);
      if (bytes > 0) {
        let best: Estimate | undefined;
        let bestFinish = Number.POSITIVE_INFINITY;
        for (const e of candidates) {
          if (e === round.self ? !usable(piece) : !e.peer!.have.has(piece)) continue;
          const finish = freeAt.get(e.id)! + (bytes * 1000) / e.rateBps;
          if (finish < bestFinish) {
            best = e;
            bestFinish = finish;
          }
        }
        // A seed's upload is what brings new pieces into the swarm: while playing, a piece some
        // other peer has goes to the best of those when it is comfortably in time.
        if (spareSeeds !== undefined && best?.peer?.have.complete === true && table.availability[piece] > 0) {
          const slack = spareSeeds(piece) - round.now;
          let alt: Estimate | undefined;
          let altFinish = Number.POSITIVE_INFINITY;
          for (const e of standIns) {
            if (e === round.self ? !usable(piece) : !e.peer!.have.has(piece)) continue;
            const finish = freeAt.get(e.id)! + (bytes * 1000) / e.rateBps;
            if (finish < altFinish) {
              alt = e;
              altFinish = finish;
            }
          }
          if (alt !== undefined && altFinish <= SEED_SPARING_SLACK * slack) {
            best = alt;
            bestFinish = altFinish;
          }
        }
        if (best === round.self) {
          this.#claim(round, piece);
          // What the budget did not let it request now stays its own, for its next pick.
          freeAt.set(best.id, Math.max(freeAt.get(best.id)!, bestFinish));
        } else if (best !== undefined) {
          freeAt.set(best.id, bestFinish);
        }
      }
      if (dl !== undefined && duplicates.left > 0 && usable(piece))
        this.#duplicateLate(round, dl, duplicates);
    }
  }

  /**
   * Requests again from the asking peer the late blocks of `dl` that it is expected to deliver
   * before their current requester. A block already duplicated is left alone: one rescue per
   * block bounds the waste.
   */
  #duplicateLate(round: Round, dl: PieceDownload, duplicates: { left: number }): void {
    const { peer, out, now, estimates, self, freeAt } = round;
    const piece = dl.index;
    const accept = (b: number): boolean => {
      const holder = dl.requester[b];
      if (holder === undefined || dl.duplicates.has(b)) return false;
      const q = estimates.get(holder)!;
      const requestedAt = dl.requestedAt[b];
      const expected = this.#expected.get(piece * BLOCK_KEY_STRIDE + b);
      // A block requested some other way (a re-assigned end-game duplicate) is expected like a
      // lone block from its peer.
      const waitMs =
        expected !== undefined && expected.peer === holder
          ? expected.waitMs
          : q.rttMs + (dl.blockLength(b) * 1000) / q.rateBps;
      const waited = now - requestedAt;
      if (waited <= this.lateFactor * waitMs) return false;
      if (!q.sorted) {
        q.requestTimes.sort((x, y) => x - y);
        q.sorted = true;
      }
      let ahead = countBelow(q.requestTimes, requestedAt);
      // Blocks of one request batch share a timestamp; the torrent sends them in block order.
      for (let k = 0; k < b; k++)
        if (dl.requester[k] === holder && dl.requestedAt[k] === requestedAt) ahead++;
      // The holder runs `slowness` times slower than expected: assume it goes on doing so.
      const slowness = waitMs > 0 ? waited / waitMs : 1;
      const holderFinish = (slowness * (ahead + 1) * BLOCK_LENGTH * 1000) / q.rateBps;
      const ownFinish = freeAt.get(peer.id)! + (dl.blockLength(b) * 1000) / self.rateBps;
      if (ownFinish >= holderFinish) return false;
      freeAt.set(peer.id, ownFinish);
      return true;
    };
    const max = Math.min(round.limit - out.length, duplicates.left);
    duplicates.left -= this.#table.claimDuplicate(piece, peer.id, max, out, accept);
  }

  /**
   * Non-urgent work up to the round's limit: started pieces first (playback order), then new
   * pieces in playback order, or rarest first when the buffer is healthy; only pieces the peer
   * is expected to deliver before their deadline.
   */
  #fillSpare(
    round: Round,
    start: number,
    bufferedMs: number,
    urgent: ReadonlySet<number>,
    feasible: (piece: number, bytes: number) => boolean,
    deadline: (piece: number) => number,
  ): void {
    const { out, usable, room } = round;
    const healthy = bufferedMs >= this.healthyBufferMs;
    const table = this.#table;
    const full = (): boolean => out.length >= round.limit || room.left <= 0;
    for (const dl of downloadsInPlaybackOrder(table, start)) {
      if (full()) return;
      if (dl.free > 0 && !urgent.has(dl.index) && usable(dl.index) && feasible(dl.index, freeBytes(dl)))
        this.#claim(round, dl.index);
    }
    const n = table.pieceCount;
    const candidate = (i: number): boolean =>
      table.isUnstarted(i) && !urgent.has(i) && usable(i) && feasible(i, table.pieceSize(i));
    if (!healthy) {
      // Mostly the pieces that would make the buffer healthy, rarest first (peers near the same
      // position then fetch different pieces and trade them), ties in playback order; a share
      // `rareShare` goes to the rarest pieces anywhere, which keeps new pieces flowing from the
      // seeds to the peers ahead of us.
      const windowEnd = round.now + this.healthyBufferMs;
      // Far-ahead pieces only once the buffer covers the urgent horizon.
      const swarmShare = bufferedMs >= this.urgentHorizonMs ? this.rareShare : 0;
      const inWindow = (): number => {
        let best = -1;
        let bestAvailability = Number.POSITIVE_INFINITY;
        for (let i = start; i < n && deadline(i) <= windowEnd; i++) {
          const a = table.availabilityOf(i);
          if (a < bestAvailability && candidate(i)) {
            best = i;
            bestAvailability = a;
          }
        }
        return best;
      };
      const inOrder = (): number => {
        for (let k = 0; k < n; k++) if (candidate((start + k) % n)) return (start + k) % n;
        return -1;
      };
      while (!full()) {
        let piece = swarmShare > 0 && this.#random.chance(swarmShare) ? this.#rarest(candidate) : -1;
        if (piece < 0) piece = inWindow();
        if (piece < 0) piece = inOrder();
        if (piece < 0 || this.#claim(round, piece) === 0) return;
      }
      return;
    }
    while (!full()) {
      const piece = this.#rarest(candidate);
      if (piece < 0 || this.#claim(round, piece) === 0) return;
    }
  }

  /** The rarest candidate piece; ties broken by a seeded random rotation of the scan. */
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
