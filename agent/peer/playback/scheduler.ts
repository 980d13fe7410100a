/**
 * The clock and timers a player runs on. Injected so that tests (and simulated swarms) drive
 * playback with a fake clock instead of waiting in real time.
 */
export interface PlaybackScheduler {
  /** Milliseconds; the same clock as the torrent's (and so as the pickers' deadlines). */
  now(): number;
  /** Calls `callback` once after `delayMs`; the handle is only ever passed to `clearTimeout`. */
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * `Date.now` and Node's timers, unref'd: a player must never keep a process alive on its own (the
 * torrent feeding it does, while it has work).
 */
export const realScheduler: PlaybackScheduler = {
  now: Date.now,
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
