import { createHash } from 'node:crypto';
import {
  asBuffer,
  asDict,
  asInt,
  asList,
  asString,
  type BencodeDict,
  BencodeError,
  BencodeMissingKeyError,
  BencodeTypeError,
  BencodeUtf8Error,
  type BencodeValue,
  type ByteSpan,
  type DecodeOptions,
  decode,
  decodeDictWithSpans,
  dictGet,
  dictRequire,
} from '../bencode/index.js';
import { MetainfoError } from './errors.js';
import type { FileEntry, Metainfo, StreamingInfo } from './types.js';
import { checkPathComponent, checkPieceLength, checkStreaming, SHA1_LENGTH_BYTES } from './validate.js';

/**
 * Parses and validates a .torrent file (BEP 3 v1, with BEP 12 announce-list, BEP 19 url-list,
 * BEP 27 private and seedstream's streaming section). Every fault is a MetainfoError naming
 * `source` (the file path, when given) and the key path of the field.
 */
export function parseMetainfo(buf: Uint8Array, source?: string): Metainfo {
  // Some real torrents have unsorted keys. Accepting them is safe because the infohash is taken
  // over the raw bytes, never over a re-encoding.
  const decodeOptions: DecodeOptions = { allowUnsortedKeys: true, maxStringLength: buf.length };
  let top: BencodeValue;
  let infoSpan: ByteSpan | undefined;
  try {
    if (buf[0] === 0x64) {
      // One pass that also yields the info dict's raw span (decodeDictWithSpans), then the
      // trailing-bytes check decode() would have made.
      const decoded = decodeDictWithSpans(buf, decodeOptions);
      if (decoded.end !== buf.length) {
        throw new BencodeError(
          'ERR_BENCODE_TRAILING_BYTES',
          `${buf.length - decoded.end} unexpected bytes after the value`,
          decoded.end,
        );
      }
      top = decoded.value;
      infoSpan = decoded.spans.get('info');
    } else {
      top = decode(buf, decodeOptions);
    }
  } catch (err) {
    if (err instanceof BencodeError) {
      throw new MetainfoError('ERR_METAINFO_BENCODE', `not a valid torrent file: ${err.message}`, {
        source,
        cause: err,
      });
    }
    throw err;
  }
  try {
    return readMetainfo(asDict(top, '(top level)'), buf, infoSpan, source);
  } catch (err) {
    if (err instanceof BencodeTypeError || err instanceof BencodeUtf8Error) {
      throw new MetainfoError('ERR_METAINFO_BAD_FIELD', err.detail, {
        source,
        keyPath: err.path,
        cause: err,
      });
    }
    if (err instanceof BencodeMissingKeyError) {
      throw new MetainfoError('ERR_METAINFO_MISSING_KEY', err.detail, {
        source,
        keyPath: err.path,
        cause: err,
      });
    }
    throw err;
  }
}

/** Prefers the `<key>.utf-8` variant some clients add when the plain key is in a legacy charset. */
function readText(dict: BencodeDict, key: string, where: string): string | undefined {
  const utf8Key = `${key}.utf-8`;
  const utf8 = dictGet(dict, utf8Key);
  if (utf8 !== undefined) return asString(utf8, `${where}${utf8Key}`);
  const plain = dictGet(dict, key);
  return plain === undefined ? undefined : asString(plain, `${where}${key}`);
}

function readMetainfo(
  top: BencodeDict,
  raw: Uint8Array,
  infoSpan: ByteSpan | undefined,
  source: string | undefined,
): Metainfo {
  const bad = (keyPath: string, detail: string): MetainfoError =>
    new MetainfoError('ERR_METAINFO_BAD_FIELD', detail, { source, keyPath });

  const info = asDict(dictRequire(top, 'info', ''), 'info');
  if (infoSpan === undefined) throw new BencodeMissingKeyError('info'); // unreachable once info exists
  const infoBuffer = Buffer.from(raw.buffer, raw.byteOffset + infoSpan.start, infoSpan.end - infoSpan.start);
  const infoHash = createHash('sha1').update(infoBuffer).digest();

  const name = readText(info, 'name', 'info.');
  if (name === undefined) throw new BencodeMissingKeyError('info.name');
  checkPathComponent(name, 'info.name', source);

  const pieceLength = asInt(dictRequire(info, 'piece length', 'info'), 'info.piece length');
  checkPieceLength(pieceLength, 'info.piece length', source);

  const pieceHashes = asBuffer(dictRequire(info, 'pieces', 'info'), 'info.pieces');
  if (pieceHashes.length % SHA1_LENGTH_BYTES !== 0) {
    throw bad('info.pieces', `length ${pieceHashes.length} is not a multiple of ${SHA1_LENGTH_BYTES}`);
  }

  const singleLength = dictGet(info, 'length');
  const fileList = dictGet(info, 'files');
  if (singleLength !== undefined && fileList !== undefined) {
    throw bad('info', 'has both "length" (single file) and "files" (multi-file)');
  }
  if (singleLength === undefined && fileList === undefined) {
    throw new MetainfoError(
      'ERR_METAINFO_MISSING_KEY',
      'needs "length" (single file) or "files" (multi-file)',
      {
        source,
        keyPath: 'info',
      },
    );
  }

  const files: FileEntry[] = [];
  let length = 0;
  if (singleLength !== undefined) {
    length = asInt(singleLength, 'info.length');
    if (length < 0) throw bad('info.length', `file length ${length} is negative`);
    files.push({ path: [name], length, offset: 0 });
  } else {
    const list = asList(fileList, 'info.files');
    if (list.length === 0) throw bad('info.files', 'file list is empty');
    const seen = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const where = `info.files[${i}]`;
      const entry = asDict(list[i], where);
      const fileLength = asInt(dictRequire(entry, 'length', where), `${where}.length`);
      if (fileLength < 0) throw bad(`${where}.length`, `file length ${fileLength} is negative`);
      const pathKey = dictGet(entry, 'path.utf-8') !== undefined ? 'path.utf-8' : 'path';
      const rawPath = asList(dictRequire(entry, pathKey, where), `${where}.${pathKey}`);
      if (rawPath.length === 0) throw bad(`${where}.${pathKey}`, 'path is empty');
      const path = rawPath.map((c, k) => {
        const component = asString(c, `${where}.${pathKey}[${k}]`);
        checkPathComponent(component, `${where}.${pathKey}[${k}]`, source);
        return component;
      });
      const joined = path.join('/');
      if (seen.has(joined)) throw bad(`${where}.${pathKey}`, `duplicate file path ${JSON.stringify(joined)}`);
      seen.add(joined);
      files.push({ path, length: fileLength, offset: length });
      length += fileLength;
      if (!Number.isSafeInteger(length)) throw bad(`${where}.length`, 'total length overflows');
    }
    // A file whose path is also a directory of another file cannot be stored.
    for (const f of files) {
      for (let k = 1; k < f.path.length; k++) {
        const dir = f.path.slice(0, k).join('/');
        if (seen.has(dir)) throw bad('info.files', `${JSON.stringify(dir)} is both a file and a directory`);
      }
    }
  }
  if (length === 0) throw bad('info', 'torrent has no content (total length is 0)');

  const pieceCount = Math.ceil(length / pieceLength);
  if (pieceHashes.length !== pieceCount * SHA1_LENGTH_BYTES) {
    throw bad(
      'info.pieces',
      `has ${pieceHashes.length / SHA1_LENGTH_BYTES} hashes, expected ${pieceCount} for ${length} bytes in pieces of ${pieceLength}`,
    );
  }

  const privateFlag = dictGet(info, 'private');
  if (privateFlag !== undefined && asInt(privateFlag, 'info.private') !== 0 && privateFlag !== 1) {
    throw bad('info.private', `must be 0 or 1, found ${privateFlag}`);
  }

  const streamingValue = dictGet(info, 'streaming');
  const streaming =
    streamingValue === undefined ? undefined : readStreaming(streamingValue, pieceCount, source);

  const announceValue = dictGet(top, 'announce');
  const announce = announceValue === undefined ? undefined : asString(announceValue, 'announce');
  const announceList = readAnnounceList(top, announce);

  const urlListValue = dictGet(top, 'url-list');
  let urlList: string[] = [];
  if (Buffer.isBuffer(urlListValue)) {
    // BEP 19 allows a single URL instead of a list; an empty string means "none".
    const url = asString(urlListValue, 'url-list');
    if (url !== '') urlList = [url];
  } else if (urlListValue !== undefined) {
    urlList = asList(urlListValue, 'url-list').map((u, i) => asString(u, `url-list[${i}]`));
  }

  const creationDateValue = dictGet(top, 'creation date');
  const creationDate =
    creationDateValue === undefined ? undefined : asInt(creationDateValue, 'creation date');

  const createdByValue = dictGet(top, 'created by');
  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    infoBuffer,
    name,
    pieceLength,
    length,
    pieceCount,
    pieceHashes,
    files,
    multiFile: fileList !== undefined,
    private: privateFlag === 1,
    announce,
    announceList,
    urlList,
    comment: readText(top, 'comment', ''),
    createdBy: createdByValue === undefined ? undefined : asString(createdByValue, 'created by'),
    creationDate,
    streaming,
  };
}

function readAnnounceList(top: BencodeDict, announce: string | undefined): string[][] {
  const value = dictGet(top, 'announce-list');
  if (value === undefined) return announce === undefined || announce === '' ? [] : [[announce]];
  const tiers: string[][] = [];
  asList(value, 'announce-list').forEach((tier, i) => {
    const urls = asList(tier, `announce-list[${i}]`).map((u, k) => asString(u, `announce-list[${i}][${k}]`));
    // Empty tiers and empty URLs occur in the wild and carry nothing; dropping them is lossless.
    const kept = urls.filter((u) => u !== '');
    if (kept.length > 0) tiers.push(kept);
  });
  return tiers;
}

function readStreaming(value: BencodeValue, pieceCount: number, source: string | undefined): StreamingInfo {
  const dict = asDict(value, 'info.streaming');
  const bitrateBps = asInt(dictRequire(dict, 'bitrate', 'info.streaming'), 'info.streaming.bitrate');
  const durationMs = asInt(dictRequire(dict, 'duration', 'info.streaming'), 'info.streaming.duration');
  const stampsValue = dictGet(dict, 'timestamps');
  const pieceTimestampsMs =
    stampsValue === undefined
      ? undefined
      : asList(stampsValue, 'info.streaming.timestamps').map((v, i) =>
          asInt(v, `info.streaming.timestamps[${i}]`),
        );
  const streaming: StreamingInfo =
    pieceTimestampsMs === undefined
      ? { bitrateBps, durationMs }
      : { bitrateBps, durationMs, pieceTimestampsMs };
  checkStreaming(streaming, pieceCount, 'info.streaming', source);
  return streaming;
}
