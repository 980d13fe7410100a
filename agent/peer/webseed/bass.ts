import type { Logger } from '../logger.js';
import { BassPicker } from '../picker/bass.js';
import type { PiecePicker } from '../picker/piece-picker.js';
import type { PlaybackView } from '../playback/playback-view.js';
import { BassOptionError, BassWindow } from './bass-window.js';
import { SequentialWindowPolicy } from './sequential-window-policy.js';
import { type WebSeedHost, type WebSeedInit, WebSeedSource } from './web-seed.js';

export interface BassInit extends Omit<WebSeedInit, 'source'> {
  /** The player whose playhead the media server follows. */
  readonly playback: PlaybackView;
  /**
   * Window size. Leave unset when the torrent runs the `bass` picker: its window is used (giving
   * a different size is an error, the two sides must agree).
   */
  readonly windowMs?: number;
  readonly windowPieces?: number;
  /** K: pieces fetched from the media server at once. */
  readonly maxInFlight?: number;
  /** Consecutive failures after which peers take over the window. */
  readonly unavailableAfterFailures?: number;
}

export interface BassHandle {
  readonly source: WebSeedSource;
  /** The window both sides follow. */
  readonly window: BassWindow;
  stop(): Promise<void>;
}

/**
 * Starts BASS's media-server side for a torrent: a web seed on `url` with the `sequential-window`
 * policy, following `playback`. With the `bass` picker on the torrent, both share its window so
 * peers fetch only the suffix; with another picker the web seed still streams the window, and
 * peers are free to fetch it too (it skips what they hold or are downloading).
 */
export function startBass(
  torrent: WebSeedHost & { readonly picker: PiecePicker },
  init: BassInit,
  deps: { readonly logger?: Logger } = {},
): BassHandle {
  const sizes = { windowMs: init.windowMs, windowPieces: init.windowPieces };
  let window: BassWindow;
  if (torrent.picker instanceof BassPicker) {
    window = torrent.picker.window;
    if (!window.sameSizeAs(sizes)) {
      throw new BassOptionError(
        `the bass picker's window (${describe(window)}) differs from the one given to startBass ` +
          `(${describe(sizes)}); leave it unset or make them agree`,
      );
    }
    if (torrent.picker.playback !== undefined && torrent.picker.playback !== init.playback) {
      throw new BassOptionError('the bass picker and startBass follow different players');
    }
  } else {
    window = new BassWindow(sizes);
  }
  const policy = new SequentialWindowPolicy(
    { maxInFlight: init.maxInFlight, unavailableAfterFailures: init.unavailableAfterFailures },
    { playback: init.playback, window },
  );
  const source = new WebSeedSource(
    { ...init, source: 'media-server' },
    { torrent, policy, logger: deps.logger },
  );
  source.start();
  return { source, window, stop: () => source.stop() };
}

function describe(w: { windowMs?: number; windowPieces?: number }): string {
  return w.windowPieces !== undefined ? `${w.windowPieces} pieces` : `${w.windowMs ?? 'default'} ms`;
}
