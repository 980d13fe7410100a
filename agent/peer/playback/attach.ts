import type { Torrent } from '../torrent/torrent.js';
import type { PlaybackMetrics } from './metrics.js';
import type { Player } from './player.js';

export interface PlayerAttachment {
  /** The player's metrics, with the torrent's bytes by source at this moment. */
  metrics(): PlaybackMetrics;
  /** Stops feeding the player (it keeps running on what it holds). Idempotent. */
  detach(): void;
}

/**
 * Feeds `player` from `torrent`: every piece the torrent stores (its 'piece' events), the pieces
 * it held before (storage on resume, a seed's content) at once, and on 'complete' whatever it
 * holds (a safety net: 'piece' events already cover it). Does not start the player. The torrent
 * usually also reads the player, as `TorrentDeps.playback`.
 */
export function attachPlayer(torrent: Torrent, player: Player): PlayerAttachment {
  const feedStored = (): void => {
    for (const i of torrent.stored.indices()) player.onPiece(i);
  };
  const onPiece = (index: number): void => player.onPiece(index);
  torrent.on('piece', onPiece);
  torrent.on('complete', feedStored);
  feedStored();
  return {
    metrics: () => player.metrics(torrent.bytesBySource),
    detach: () => {
      torrent.off('piece', onPiece);
      torrent.off('complete', feedStored);
    },
  };
}
