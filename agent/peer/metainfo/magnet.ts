import { MagnetError } from './errors.js';
import type { Metainfo } from './types.js';

/** What a BEP 9 magnet link tells a peer before it has the metadata. */
export interface MagnetLink {
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  /** `dn`, the display name (a hint only: the real name is in the metadata). */
  readonly name?: string;
  /** `tr` parameters, in order, without duplicates. */
  readonly trackers: string[];
  /** `x.pe` peer addresses (BEP 9). IPv6 hosts are given without brackets. */
  readonly peers: { host: string; port: number }[];
  /** `ws` web seeds (BEP 19). */
  readonly webSeeds: string[];
}

const BTIH_PREFIX = 'urn:btih:';
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function decodeBase32(text: string): Buffer | undefined {
  const out = Buffer.alloc((text.length * 5) >> 3);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const ch of text.toUpperCase()) {
    const digit = BASE32_ALPHABET.indexOf(ch);
    if (digit < 0) return undefined;
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      out[at++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}

function parseInfoHash(text: string): Buffer {
  if (/^[0-9a-fA-F]{40}$/.test(text)) return Buffer.from(text, 'hex');
  if (text.length === 32) {
    const decoded = decodeBase32(text);
    if (decoded !== undefined) return decoded;
  }
  throw new MagnetError(
    'ERR_MAGNET_BAD_INFOHASH',
    `btih ${JSON.stringify(text)} is neither 40 hex nor 32 base32 characters`,
  );
}

function parsePeer(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65_535) {
    throw new MagnetError(
      'ERR_MAGNET_BAD_PEER',
      `x.pe ${JSON.stringify(text)} is not host:port with a port in 1..65535`,
    );
  }
  return { host: m[1] ?? m[2], port };
}

function percentDecode(raw: string, key: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    throw new MagnetError('ERR_MAGNET_BAD_URI', `parameter ${key} has invalid percent-encoding`, {
      cause: err,
    });
  }
}

/**
 * Parses a BEP 9 magnet URI: `magnet:?xt=urn:btih:<hex or base32>&dn=...&tr=...&x.pe=...&ws=...`.
 * Unknown parameters are ignored; numbered variants (`tr.1`, `xt.1`) are read like the plain ones.
 */
export function parseMagnet(uri: string): MagnetLink {
  const prefix = 'magnet:?';
  if (uri.slice(0, prefix.length).toLowerCase() !== prefix) {
    throw new MagnetError(
      'ERR_MAGNET_BAD_URI',
      `${JSON.stringify(uri.slice(0, 40))} is not a magnet URI (magnet:?...)`,
    );
  }
  let infoHash: Buffer | undefined;
  let name: string | undefined;
  let sawOtherTopic = false;
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  const peers: { host: string; port: number }[] = [];
  for (const pair of uri.slice(prefix.length).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const key = rawKey.replace(/\.\d+$/, '').toLowerCase();
    if (key === 'xt') {
      const topic = percentDecode(rawValue, rawKey);
      if (topic.slice(0, BTIH_PREFIX.length).toLowerCase() !== BTIH_PREFIX) {
        sawOtherTopic = true;
        continue;
      }
      const hash = parseInfoHash(topic.slice(BTIH_PREFIX.length));
      if (infoHash !== undefined && !infoHash.equals(hash)) {
        throw new MagnetError('ERR_MAGNET_BAD_INFOHASH', 'magnet has two different btih values');
      }
      infoHash = hash;
    } else if (key === 'dn') {
      // `+` for space is the form encoding many clients use for names; URLs below keep it literal.
      name = percentDecode(rawValue.replaceAll('+', ' '), rawKey);
    } else if (key === 'tr') {
      const url = percentDecode(rawValue, rawKey);
      if (url !== '' && !trackers.includes(url)) trackers.push(url);
    } else if (key === 'ws') {
      const url = percentDecode(rawValue, rawKey);
      if (url !== '' && !webSeeds.includes(url)) webSeeds.push(url);
    } else if (key === 'x.pe') {
      peers.push(parsePeer(percentDecode(rawValue, rawKey)));
    }
  }
  if (infoHash === undefined) {
    throw new MagnetError(
      'ERR_MAGNET_NO_INFOHASH',
      sawOtherTopic
        ? 'magnet has no v1 infohash (xt=urn:btih:); v2-only links are not supported'
        : 'magnet has no xt=urn:btih: parameter',
    );
  }
  return { infoHash, infoHashHex: infoHash.toString('hex'), name, trackers, peers, webSeeds };
}

/** A magnet URI for a torrent: infohash, name, every tracker of every tier, web seeds. */
export function toMagnet(
  meta: Pick<Metainfo, 'infoHashHex' | 'name' | 'announce' | 'announceList' | 'urlList'>,
): string {
  const trackers: string[] = [];
  for (const url of [...(meta.announce === undefined ? [] : [meta.announce]), ...meta.announceList.flat()]) {
    if (url !== '' && !trackers.includes(url)) trackers.push(url);
  }
  const params = [`xt=urn:btih:${meta.infoHashHex}`, `dn=${encodeURIComponent(meta.name)}`];
  for (const url of trackers) params.push(`tr=${encodeURIComponent(url)}`);
  for (const url of meta.urlList) params.push(`ws=${encodeURIComponent(url)}`);
  return `magnet:?${params.join('&')}`;
}
