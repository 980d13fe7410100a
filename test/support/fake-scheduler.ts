import type { PlaybackScheduler } from '../../agent/peer/playback/scheduler.js';

/** More timers than this firing in one `advanceTo` means a timer loop: fail instead of hanging. */
const MAX_FIRINGS_PER_ADVANCE = 100_000;

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A manual clock with timers for deterministic tests: time moves only through `advanceTo` /
 * `advance`, which fire the due timers in time order (ties in creation order), each with the
 * clock set to its due time.
 */
export class FakeScheduler implements PlaybackScheduler {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, FakeTimer>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers set and neither fired nor cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the clock to `atMs`, firing every timer due by then. */
  advanceTo(atMs: number): void {
    if (atMs < this.#now) throw new RangeError(`cannot move the clock back from ${this.#now} to ${atMs}`);
    for (let fired = 0; ; fired++) {
      if (fired > MAX_FIRINGS_PER_ADVANCE) throw new Error(`more than ${fired} timers fired up to ${atMs}`);
      let next: FakeTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (timer.at <= atMs && (next === undefined || timer.at < next.at)) next = timer;
      }
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = next.at;
      next.callback();
    }
    this.#now = atMs;
  }

  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }
}
