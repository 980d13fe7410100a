import { createMetainfo } from '../peer/metainfo/index.js';
import type { Metainfo } from '../peer/metainfo/types.js';
import { Random } from '../peer/random.js';
import type { ContentSpec } from './plan.js';

export interface SwarmContent {
  readonly meta: Metainfo;
  /** The .torrent file. */
  readonly torrent: Buffer;
  /** The content's bytes. */
  readonly data: Buffer;
}

/**
 * Pseudo-random content from `seed` with a CBR streaming section (duration = size / bitrate),
 * as a single-file torrent. The same spec and seed give the same bytes and infohash.
 */
export async function generateContent(
  spec: ContentSpec,
  seed: string,
  announce?: string,
  signal?: AbortSignal,
): Promise<SwarmContent> {
  const data = Buffer.allocUnsafe(spec.sizeBytes);
  new Random(seed).fill(data);
  const durationMs = Math.max(1, Math.round((spec.sizeBytes * 8 * 1000) / spec.bitrateBps));
  const { torrent, meta } = await createMetainfo(
    {
      content: { name: spec.name ?? 'swarm-content.bin', data },
      pieceLength: spec.pieceLengthBytes,
      streaming: { bitrateBps: spec.bitrateBps, durationMs },
      creationDate: null,
      announce,
    },
    signal,
  );
  return { meta, torrent, data };
}
