import type { PlaybackView } from '../playback/playback-view.js';
import type { BassWindow } from './bass-window.js';
import { WebSeedInitError } from './errors.js';
import { checkMaxInFlight, isFetchable, type WebSeedPolicy, type WebSeedPolicyView } from './policy.js';

export const DEFAULT_WINDOW_IN_FLIGHT = 4;
/** Consecutive failures after which the media server counts as unavailable (peers take the window). */
export const DEFAULT_UNAVAILABLE_AFTER_FAILURES = 3;

export interface SequentialWindowPolicyInit {
  /** K: most pieces fetched at once. Default DEFAULT_WINDOW_IN_FLIGHT. */
  readonly maxInFlight?: number;
  /** Default DEFAULT_UNAVAILABLE_AFTER_FAILURES. */
  readonly unavailableAfterFailures?: number;
}

export interface SequentialWindowPolicyDeps {
  readonly playback: PlaybackView;
  /** Shared with the BASS picker, so peers are never asked for what this policy fetches. */
  readonly window: BassWindow;
}

/**
 * BASS's media-server side: the pieces of the window (playhead up to `windowMs` of media ahead),
 * in playback order, skipping pieces held or being downloaded, at most K at once. It reports the
 * server's health to the shared window, which opens the window to peers while the server fails.
 */
export class SequentialWindowPolicy implements WebSeedPolicy {
  readonly name = 'sequential-window';
  readonly maxInFlight: number;
  readonly unavailableAfterFailures: number;
  readonly playback: PlaybackView;
  readonly window: BassWindow;

  constructor(init: SequentialWindowPolicyInit, deps: SequentialWindowPolicyDeps) {
    this.maxInFlight = checkMaxInFlight(
      init.maxInFlight ?? DEFAULT_WINDOW_IN_FLIGHT,
      (m) => new WebSeedInitError(m),
    );
    const after = init.unavailableAfterFailures ?? DEFAULT_UNAVAILABLE_AFTER_FAILURES;
    if (!Number.isInteger(after) || after < 1) {
      throw new WebSeedInitError(`unavailableAfterFailures must be a positive integer, got ${after}`);
    }
    this.unavailableAfterFailures = after;
    this.playback = deps.playback;
    this.window = deps.window;
  }

  next(view: WebSeedPolicyView, max: number): number[] {
    const out: number[] = [];
    const table = view.table;
    const span = this.window.span(this.playback, table.pieceCount);
    for (let i = span.start; i < span.end && out.length < max; i++) {
      if (!view.excluded(i) && !this.window.isAbandoned(i) && isFetchable(table, i)) out.push(i);
    }
    return out;
  }

  onHealth(failures: number): void {
    this.window.serverAvailable = failures < this.unavailableAfterFailures;
  }

  onAbandon(index: number): void {
    this.window.abandon(index);
  }
}
