/**
 * What a parsed .torrent (BEP 3, v1) tells the peer. Produced by `parseMetainfo` and
 * `createMetainfo`; consumed by storage, the wire and the pickers.
 */
export interface FileEntry {
  /** Path components below the torrent's name directory (single-file torrents: `[name]`). */
  readonly path: readonly string[];
  readonly length: number;
  /** Byte offset of this file in the torrent's concatenated content. */
  readonly offset: number;
}

/**
 * The optional streaming section (key `streaming` inside the info dictionary, so it is covered by
 * the infohash; ordinary clients ignore unknown info keys).
 */
export interface StreamingInfo {
  /** Mean bitrate of the stream in bits per second. */
  readonly bitrateBps: number;
  /** Playback duration in milliseconds. */
  readonly durationMs: number;
  /**
   * For VBR content: the playback time (ms from the start) at which each piece is first needed,
   * one entry per piece, non-decreasing. Absent for CBR, where it follows from the bitrate.
   */
  readonly pieceTimestampsMs?: readonly number[];
}

export interface Metainfo {
  /** SHA-1 of the bencoded info dictionary exactly as it appeared in the file. */
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  /** The raw bencoded info dictionary (served over ut_metadata, BEP 9). */
  readonly infoBuffer: Buffer;
  readonly name: string;
  readonly pieceLength: number;
  /** Total content length in bytes. */
  readonly length: number;
  readonly pieceCount: number;
  /** Concatenated 20-byte SHA-1 piece hashes; use `pieceHash(meta, i)`. */
  readonly pieceHashes: Buffer;
  readonly files: readonly FileEntry[];
  /** True for a multi-file torrent (content lives in a directory named `name`). */
  readonly multiFile: boolean;
  readonly private: boolean;
  readonly announce?: string;
  /** BEP 12 tiers; when absent in the file, `[[announce]]` if announce is set. */
  readonly announceList: readonly (readonly string[])[];
  /** BEP 19 web seeds (`url-list`). */
  readonly urlList: readonly string[];
  readonly comment?: string;
  readonly createdBy?: string;
  /** Seconds since the epoch. */
  readonly creationDate?: number;
  readonly streaming?: StreamingInfo;
}
