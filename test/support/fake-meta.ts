import { createHash } from 'node:crypto';
import { type Encodable, encode } from '../../agent/peer/bencode/encode.js';
import type { FileEntry, Metainfo, StreamingInfo } from '../../agent/peer/metainfo/types.js';
import { Random, type Seed } from '../../agent/peer/random.js';

export interface FakeFile {
  /** Path components (single-file torrents: `[name]`). */
  readonly path: readonly string[];
  readonly length: number;
}

export interface FakeMetaInit {
  readonly pieceLength: number;
  /** One file gives a single-file torrent named after it, unless `multiFile` is set. */
  readonly files: readonly FakeFile[];
  /** Seeds the generated content (ignored when `content` is given). */
  readonly seed: Seed;
  /** Torrent name for multi-file torrents. Default 'fake-torrent'. */
  readonly name?: string;
  /** Force a multi-file layout even for one file. */
  readonly multiFile?: boolean;
  /** Use these bytes instead of generating them; must match the total length. */
  readonly content?: Buffer;
  readonly announce?: string;
  readonly private?: boolean;
  /** Attached to the Metainfo only: not encoded into `infoBuffer`, so not covered by the infohash. */
  readonly streaming?: StreamingInfo;
}

export interface FakeMeta {
  readonly meta: Metainfo;
  /** The torrent's concatenated content; `meta.pieceHashes` are real SHA-1s of it. */
  readonly content: Buffer;
}

/**
 * A test fixture: a Metainfo with real piece hashes over seeded pseudo-random content, and a real
 * bencoded info dictionary whose SHA-1 is the infohash. Built without the metainfo parser so tests
 * of other modules do not depend on it.
 */
export function makeMeta(init: FakeMetaInit): FakeMeta {
  const { pieceLength, files } = init;
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
    throw new RangeError(`makeMeta: pieceLength must be a positive integer, got ${pieceLength}`);
  }
  if (files.length === 0) throw new RangeError('makeMeta: at least one file is needed');
  for (const f of files) {
    if (!Number.isSafeInteger(f.length) || f.length < 0 || f.path.length === 0) {
      throw new RangeError(`makeMeta: bad file ${JSON.stringify(f)}`);
    }
  }
  const multiFile = init.multiFile ?? files.length > 1;
  const name = multiFile ? (init.name ?? 'fake-torrent') : files[0].path[files[0].path.length - 1];
  const length = files.reduce((sum, f) => sum + f.length, 0);
  if (length === 0) throw new RangeError('makeMeta: the torrent must hold at least one byte');

  let content: Buffer;
  if (init.content !== undefined) {
    if (init.content.length !== length) {
      throw new RangeError(`makeMeta: content is ${init.content.length} bytes, files total ${length}`);
    }
    content = init.content;
  } else {
    content = Buffer.alloc(length);
    new Random(init.seed).fill(content);
  }

  const pieceCount = Math.ceil(length / pieceLength);
  const pieceHashes = Buffer.alloc(pieceCount * 20);
  for (let i = 0; i < pieceCount; i++) {
    const piece = content.subarray(i * pieceLength, Math.min((i + 1) * pieceLength, length));
    createHash('sha1')
      .update(piece)
      .digest()
      .copy(pieceHashes, i * 20);
  }

  let offset = 0;
  const entries: FileEntry[] = files.map((f) => {
    const entry = { path: multiFile ? [...f.path] : [name], length: f.length, offset };
    offset += f.length;
    return entry;
  });

  const info: Record<string, Encodable | undefined> = {
    name,
    'piece length': pieceLength,
    pieces: pieceHashes,
    private: init.private ? 1 : undefined,
  };
  if (multiFile) info.files = entries.map((e) => ({ length: e.length, path: [...e.path] }));
  else info.length = length;
  const infoBuffer = encode(info);
  const infoHash = createHash('sha1').update(infoBuffer).digest();

  const meta: Metainfo = {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    infoBuffer,
    name,
    pieceLength,
    length,
    pieceCount,
    pieceHashes,
    files: entries,
    multiFile,
    private: init.private ?? false,
    announce: init.announce,
    announceList: init.announce === undefined ? [] : [[init.announce]],
    urlList: [],
    streaming: init.streaming,
  };
  return { meta, content };
}
