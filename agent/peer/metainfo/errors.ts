import { SeedstreamError } from '../errors.js';

export type MetainfoErrorCode =
  /** The file is not valid bencode (the cause is the BencodeError, with its byte offset). */
  | 'ERR_METAINFO_BENCODE'
  | 'ERR_METAINFO_MISSING_KEY'
  /** A field has the wrong type or a value outside what BEP 3 (or the streaming section) allows. */
  | 'ERR_METAINFO_BAD_FIELD'
  /** A name or path component would escape the download directory (`..`, `/`, NUL...). */
  | 'ERR_METAINFO_UNSAFE_PATH'
  /** The torrent file, or the content to create a torrent from, does not exist. */
  | 'ERR_METAINFO_NOT_FOUND'
  /** Reading the torrent file or its content failed, or content changed while being hashed. */
  | 'ERR_METAINFO_IO'
  /** There is nothing to make a torrent of (empty file or directory). */
  | 'ERR_METAINFO_EMPTY'
  /** Options given to createMetainfo are invalid. */
  | 'ERR_METAINFO_BAD_OPTION';

export interface MetainfoErrorInit {
  /** Where the torrent came from (a file path), when known. */
  readonly source?: string;
  /** The key path of the faulty field, such as `info.files[3].path`. */
  readonly keyPath?: string;
  readonly cause?: unknown;
}

/** A torrent file (or the input to create one) is unusable; the message names source and key. */
export class MetainfoError extends SeedstreamError {
  readonly source?: string;
  readonly keyPath?: string;

  constructor(code: MetainfoErrorCode, detail: string, init: MetainfoErrorInit = {}) {
    const where = [init.source, init.keyPath].filter((part) => part !== undefined && part !== '');
    super(code, [...where, detail].join(': '), { cause: init.cause });
    this.source = init.source;
    this.keyPath = init.keyPath;
  }
}

export type MagnetErrorCode =
  /** Not a `magnet:?` URI, or a parameter is malformed (bad percent-encoding...). */
  | 'ERR_MAGNET_BAD_URI'
  /** No `xt=urn:btih:` parameter (v2-only `btmh` links are not supported). */
  | 'ERR_MAGNET_NO_INFOHASH'
  /** The btih is not 40 hex or 32 base32 characters, or two btih values disagree. */
  | 'ERR_MAGNET_BAD_INFOHASH'
  /** An `x.pe` peer is not `host:port` with a port in 1..65535. */
  | 'ERR_MAGNET_BAD_PEER';

export class MagnetError extends SeedstreamError {
  constructor(code: MagnetErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
