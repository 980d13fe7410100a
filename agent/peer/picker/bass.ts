import type { PlaybackView } from '../playback/playback-view.js';
import { BassWindow, DEFAULT_BASS_WINDOW_MS, type WindowSpan } from '../webseed/bass-window.js';
import type { PickerContext } from './index.js';
import type { BlockRef, PickerPeer, PickOptions } from './piece-picker.js';
import { RarestFirstPicker } from './rarest-first.js';
import { StrategyOptionError, StrategyOptions } from './strategy-options.js';

/** Strategy options of `bass`. */
export const BASS_OPTIONS = ['windowMs', 'windowPieces', 'window'] as const;

/**
 * BASS (BitTorrent-Assisted Streaming), BitTorrent's side: a media server streams the pieces near
 * the playhead in playback order (webseed/ with the `sequential-window` policy, see `startBass`),
 * and peers are asked only for the suffix beyond the server's window, rarest first. The window
 * is one `BassWindow` shared with the web seed, so peers are never asked for what the server is
 * about to stream. Options: `windowMs` (media time ahead of the playhead, ms or "10s"),
 * `windowPieces` (a fixed piece count instead), or `window` (a BassWindow to share as is).
 *
 * Pieces behind the playhead that we still lack are outside the window and fetched like the
 * suffix (a player that skipped them may still seek back, and the swarm wants them).
 *
 * While the web seed reports the server unavailable, the window's pieces go to peers first, in
 * playback order; pieces the server gave up on are ordinary suffix pieces.
 *
 * Without a player (no `ctx.playback`, e.g. the picker compliance suite) there is no playhead and
 * no media server streaming, and `windowMs` cannot be measured: the window is [0, windowPieces)
 * (empty unless `windowPieces` is set, so plain rarest-first) and only a preference — those
 * pieces are picked last, once the peer has nothing beyond them, so the picker stays complete.
 */
export class BassPicker extends RarestFirstPicker {
  override readonly name: string = 'bass';
  readonly window: BassWindow;
  readonly playback: PlaybackView | undefined;

  constructor(ctx: PickerContext) {
    super(ctx);
    this.window = bassWindowFromOptions(ctx.options);
    this.playback = ctx.playback;
  }

  /** The pieces the media server is responsible for now. */
  span(): WindowSpan {
    return this.window.span(this.playback, this.table.pieceCount);
  }

  override pick(peer: PickerPeer, max: number, opts?: PickOptions): BlockRef[] {
    const out: BlockRef[] = [];
    if (max <= 0) return out;
    const allowed = opts?.onlyPieces;
    const usable = (piece: number): boolean =>
      peer.have.has(piece) && (allowed === undefined || allowed.has(piece));
    const span = this.span();
    const inWindow = (piece: number): boolean =>
      piece >= span.start && piece < span.end && !this.window.isAbandoned(piece);

    if (this.playback !== undefined && !this.window.serverAvailable) {
      // The server is failing: peers stand in for it, in playback order.
      for (let i = span.start; i < span.end && out.length < max; i++) {
        if (usable(i) && !this.window.isAbandoned(i)) this.table.claim(i, peer.id, max - out.length, out);
      }
    }
    const beyond = (piece: number): boolean => usable(piece) && !inWindow(piece);
    // A window piece with a block requested from a peer is the peers' to finish: the web seed only
    // takes pieces nobody is downloading (webseed/policy.ts isFetchable), so the two never overlap.
    const continuing = (piece: number): boolean =>
      beyond(piece) || (usable(piece) && this.#peersStarted(piece));
    this.#claimStarted(peer, max, continuing, out);
    this.#claimNew(peer, max, beyond, out);
    if (this.playback === undefined) {
      const within = (piece: number): boolean => usable(piece) && inWindow(piece);
      this.#claimStarted(peer, max, within, out);
      this.#claimNew(peer, max, within, out);
    }
    if (out.length < max && this.table.endgame) {
      const strict = this.playback !== undefined && this.window.serverAvailable;
      this.pickEndgame(peer, max, strict ? beyond : usable, out);
    }
    return out;
  }

  /** Some block of the piece is requested and it has free blocks (the web seed claims all at once). */
  #peersStarted(piece: number): boolean {
    const dl = this.table.downloads.get(piece);
    return dl !== undefined && dl.free > 0 && dl.free + dl.received < dl.blockCount;
  }

  /** Strict priority for started pieces, as rarest-first does. */
  #claimStarted(peer: PickerPeer, max: number, usable: (piece: number) => boolean, out: BlockRef[]): void {
    for (const dl of this.table.downloads.values()) {
      if (out.length >= max) return;
      if (dl.free > 0 && usable(dl.index)) this.table.claim(dl.index, peer.id, max - out.length, out);
    }
  }

  #claimNew(peer: PickerPeer, max: number, usable: (piece: number) => boolean, out: BlockRef[]): void {
    // Each iteration claims at least one block or stops.
    while (out.length < max) {
      const piece = this.choosePiece(peer, usable);
      if (piece < 0) return;
      if (this.table.claim(piece, peer.id, max - out.length, out) === 0) return;
    }
  }
}

/** The window the options describe: `window` as is, or one built from `windowMs` / `windowPieces`. */
export function bassWindowFromOptions(options: Readonly<Record<string, unknown>> | undefined): BassWindow {
  const parsed = new StrategyOptions('bass', options, BASS_OPTIONS);
  const shared = options?.window;
  if (shared !== undefined) {
    if (!(shared instanceof BassWindow))
      throw new StrategyOptionError('bass', 'window', 'must be a BassWindow');
    if (options?.windowMs !== undefined || options?.windowPieces !== undefined) {
      throw new StrategyOptionError('bass', 'window', 'excludes windowMs and windowPieces (it has its own)');
    }
    return shared;
  }
  const windowMs = parsed.durationMs('windowMs', DEFAULT_BASS_WINDOW_MS, { min: 0, minExclusive: true });
  const windowPieces =
    options?.windowPieces === undefined
      ? undefined
      : parsed.number('windowPieces', 1, { min: 1, integer: true });
  return new BassWindow({ windowMs, windowPieces });
}
