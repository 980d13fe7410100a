import type { AnnounceEvent } from '../peer/tracker/announcer.js';
import { formatEndpoint, IPV4_BYTES, parseIp } from './address.js';
import {
  MalformedParameterError,
  MissingParameterError,
  NumwantTooLargeError,
  TooManyValuesError,
} from './errors.js';

/*
 * Query strings are parsed from the raw request target. `info_hash` and `peer_id` are
 * percent-encoded *binary* (BEP 3), which URLSearchParams would mangle by decoding as UTF-8, so
 * every value is percent-decoded to bytes here. `+` is kept as a literal byte (RFC 3986 query
 * syntax, not HTML form encoding): real clients escape it in binary values anyway.
 */

export const INFO_HASH_BYTES = 20;
export const PEER_ID_BYTES = 20;
/** Above this, numwant is refused rather than capped: no client means it. */
export const NUMWANT_REJECT_ABOVE = 10_000;
/** Bounds of the seedstream extension parameters (see README-extension.md). */
export const MAX_DELAY_REPORTS = 200;
export const MAX_DELAY_MS = 600_000;
export const MAX_UPSTREAM_BPS = 1e12;
/** A scrape names at most this many torrents (opentracker uses 64). */
export const MAX_SCRAPE_INFO_HASHES = 100;
/** Longest accepted `key` / `trackerid` value. */
const MAX_TOKEN_BYTES = 64;
const MAX_SAFE_DIGITS = 15;

/** One delay a peer reported about another endpoint (extension parameter `ss_delay`). */
export interface DelayReport {
  /** Address bytes (4 or 16). */
  readonly address: Buffer;
  readonly port: number;
  readonly delayMs: number;
  /** Canonical `host:port` text, the key delays are stored under. */
  readonly endpoint: string;
}

export interface AnnounceParams {
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly port: number;
  readonly uploaded?: number;
  readonly downloaded?: number;
  readonly left?: number;
  readonly event?: AnnounceEvent;
  /** Undefined when absent (or -1, BEP 15's "default"); never above NUMWANT_REJECT_ABOVE. */
  readonly numwant?: number;
  /** Absent means compact: every modern client asks for it and BEP 23 lets trackers prefer it. */
  readonly compact: boolean;
  readonly noPeerId: boolean;
  /** `ip` parameter as address bytes (4 or 16). */
  readonly ip?: Buffer;
  /** BEP 7 `ipv4` / `ipv6` parameters, optionally carrying their own port. */
  readonly ipv4?: { readonly address: Buffer; readonly port?: number };
  readonly ipv6?: { readonly address: Buffer; readonly port?: number };
  readonly key?: string;
  readonly trackerId?: string;
  /** Extension: the peer's upstream capacity in bytes/s. */
  readonly upstreamBps?: number;
  /** Extension: delays the peer measured; undefined when the parameter is absent. */
  readonly delays?: readonly DelayReport[];
}

/** The raw `key=value` pairs of a query, values still percent-encoded. */
export function splitQuery(rawQuery: string): [string, string][] {
  const pairs: [string, string][] = [];
  let start = 0;
  while (start <= rawQuery.length) {
    let end = rawQuery.indexOf('&', start);
    if (end === -1) end = rawQuery.length;
    if (end > start) {
      const eq = rawQuery.indexOf('=', start);
      if (eq === -1 || eq > end) pairs.push([decodeKey(rawQuery.slice(start, end)), '']);
      else pairs.push([decodeKey(rawQuery.slice(start, eq)), rawQuery.slice(eq + 1, end)]);
    }
    start = end + 1;
  }
  return pairs;
}

function decodeKey(raw: string): string {
  if (!raw.includes('%')) return raw;
  // An undecodable key cannot be one we know, so it is kept raw and ignored like any unknown key.
  const bytes = tryPercentDecode(raw);
  return bytes === undefined ? raw : bytes.toString('latin1');
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function tryPercentDecode(raw: string): Buffer | undefined {
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hi = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1;
      const lo = hi >= 0 ? hexValue(raw.charCodeAt(i + 2)) : -1;
      if (lo < 0) return undefined;
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else {
      if (c > 0xff) return undefined;
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

/** The bytes a percent-encoded value stands for; a bad escape names the parameter. */
export function percentDecode(raw: string, param: string): Buffer {
  const bytes = tryPercentDecode(raw);
  if (bytes === undefined) throw new MalformedParameterError(param, 'invalid percent-encoding');
  return bytes;
}

function decodeText(raw: string, param: string): string {
  return raw.includes('%') ? percentDecode(raw, param).toString('latin1') : raw;
}

function decodeFixed(raw: string, param: string, length: number): Buffer {
  const bytes = percentDecode(raw, param);
  if (bytes.length !== length) {
    throw new MalformedParameterError(param, `expected ${length} bytes, got ${bytes.length}`);
  }
  // A copy: the decode scratch buffer is sized to the raw text, which may be far larger.
  return Buffer.from(bytes);
}

const DIGITS = /^[0-9]+$/;

/** A non-negative decimal integer that is a safe JS number. */
function decodeCount(raw: string, param: string): number {
  const text = decodeText(raw, param);
  if (!DIGITS.test(text) || text.length > MAX_SAFE_DIGITS) {
    throw new MalformedParameterError(
      param,
      `expected a non-negative integer, got ${JSON.stringify(clip(text))}`,
    );
  }
  return Number(text);
}

function decodePort(text: string, param: string): number {
  if (!DIGITS.test(text) || text.length > 5) {
    throw new MalformedParameterError(param, `expected a port number, got ${JSON.stringify(clip(text))}`);
  }
  const port = Number(text);
  if (port < 1 || port > 65_535)
    throw new MalformedParameterError(param, `port ${port} is out of range 1-65535`);
  return port;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function decodeEvent(raw: string): AnnounceEvent | undefined {
  const text = decodeText(raw, 'event');
  switch (text) {
    case 'started':
    case 'completed':
    case 'stopped':
      return text;
    // `paused` is BEP 21's partial seed; it is a regular announce here.
    case '':
    case 'empty':
    case 'paused':
      return undefined;
    default:
      throw new MalformedParameterError('event', `unknown event ${JSON.stringify(clip(text))}`);
  }
}

function decodeNumwant(raw: string): number | undefined {
  const text = decodeText(raw, 'numwant');
  if (text === '-1') return undefined;
  if (!DIGITS.test(text)) {
    throw new MalformedParameterError(
      'numwant',
      `expected a non-negative integer, got ${JSON.stringify(clip(text))}`,
    );
  }
  if (text.length > 6 || Number(text) > NUMWANT_REJECT_ABOVE)
    throw new NumwantTooLargeError(clip(text), NUMWANT_REJECT_ABOVE);
  return Number(text);
}

function decodeFlag(raw: string, param: string): boolean {
  const text = decodeText(raw, param);
  if (text === '1') return true;
  if (text === '0') return false;
  throw new MalformedParameterError(param, `expected 0 or 1, got ${JSON.stringify(clip(text))}`);
}

function decodeAddress(raw: string, param: string): Buffer {
  const text = decodeText(raw, param);
  const address = parseIp(text);
  if (address === undefined) {
    throw new MalformedParameterError(param, `${JSON.stringify(clip(text))} is not an IPv4 or IPv6 literal`);
  }
  return address;
}

/** BEP 7 `ipv4=a.b.c.d[:port]` / `ipv6=addr` or `ipv6=[addr]:port`. */
function decodeFamilyEndpoint(
  raw: string,
  param: 'ipv4' | 'ipv6',
): { readonly address: Buffer; readonly port?: number } {
  const text = decodeText(raw, param);
  let host = text;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') {
      throw new MalformedParameterError(param, `expected [address]:port, got ${JSON.stringify(clip(text))}`);
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else if (param === 'ipv4' && text.includes(':')) {
    host = text.slice(0, text.indexOf(':'));
    portText = text.slice(text.indexOf(':') + 1);
  }
  const address = parseIp(host);
  const wantBytes = param === 'ipv4' ? IPV4_BYTES : 16;
  if (address === undefined || address.length !== wantBytes) {
    throw new MalformedParameterError(param, `${JSON.stringify(clip(host))} is not an ${param} address`);
  }
  return portText === undefined ? { address } : { address, port: decodePort(portText, param) };
}

function decodeToken(raw: string, param: string): string {
  const text = decodeText(raw, param);
  if (text.length > MAX_TOKEN_BYTES)
    throw new MalformedParameterError(param, `longer than ${MAX_TOKEN_BYTES} bytes`);
  return text;
}

function decodeUpstream(raw: string): number {
  const bps = decodeCount(raw, 'ss_up');
  if (bps > MAX_UPSTREAM_BPS)
    throw new MalformedParameterError('ss_up', `${bps} bytes/s is above ${MAX_UPSTREAM_BPS}`);
  return bps;
}

const DELAY_MS = /^[0-9]{1,6}(\.[0-9]{1,3})?$/;

/**
 * `ss_delay=<host>:<port>:<ms>[,<host>:<port>:<ms>...]`, IPv6 hosts in brackets; the parameter may
 * also repeat. Entries are appended to `into`, a later entry for the same endpoint wins.
 */
function decodeDelays(raw: string, into: Map<string, DelayReport>): void {
  const text = decodeText(raw, 'ss_delay');
  if (text === '') return;
  for (const entry of text.split(',')) {
    if (into.size >= MAX_DELAY_REPORTS) {
      throw new TooManyValuesError('ss_delay', into.size + 1, MAX_DELAY_REPORTS);
    }
    const bad = (why: string): MalformedParameterError =>
      new MalformedParameterError('ss_delay', `entry ${JSON.stringify(clip(entry))}: ${why}`);
    let host: string;
    let rest: string;
    if (entry.startsWith('[')) {
      const close = entry.indexOf(']');
      if (close === -1 || entry[close + 1] !== ':') throw bad('expected [ipv6]:port:ms');
      host = entry.slice(1, close);
      rest = entry.slice(close + 2);
    } else {
      const colon = entry.indexOf(':');
      if (colon === -1) throw bad('expected host:port:ms');
      host = entry.slice(0, colon);
      rest = entry.slice(colon + 1);
    }
    const address = parseIp(host);
    if (address === undefined)
      throw bad(`${JSON.stringify(clip(host))} is not an IP literal (IPv6 needs brackets)`);
    const colon = rest.indexOf(':');
    if (colon === -1) throw bad('expected host:port:ms');
    const msText = rest.slice(colon + 1);
    let port: number;
    try {
      port = decodePort(rest.slice(0, colon), 'ss_delay');
    } catch (err) {
      throw bad(
        err instanceof Error ? err.message.replace(/^malformed parameter ss_delay: /, '') : 'bad port',
      );
    }
    if (!DELAY_MS.test(msText))
      throw bad(`delay ${JSON.stringify(clip(msText))} is not milliseconds (up to 3 decimals)`);
    const delayMs = Number(msText);
    if (delayMs > MAX_DELAY_MS) throw bad(`delay ${delayMs} ms is above ${MAX_DELAY_MS}`);
    const endpoint = formatEndpoint(address, port);
    into.delete(endpoint);
    into.set(endpoint, { address, port, delayMs, endpoint });
  }
}

/** Parameters of an announce, validated; throws a TrackerRequestError naming the parameter. */
export function parseAnnounceQuery(rawQuery: string): AnnounceParams {
  let infoHash: Buffer | undefined;
  let peerId: Buffer | undefined;
  let port: number | undefined;
  const seen = new Set<string>();
  let delays: Map<string, DelayReport> | undefined;
  const params: {
    -readonly [K in keyof AnnounceParams]?: AnnounceParams[K];
  } = {};
  for (const [key, raw] of splitQuery(rawQuery)) {
    if (key !== 'ss_delay') {
      if (seen.has(key) && KNOWN_SINGLE.has(key))
        throw new MalformedParameterError(key, 'given more than once');
      seen.add(key);
    }
    switch (key) {
      case 'info_hash':
        infoHash = decodeFixed(raw, key, INFO_HASH_BYTES);
        break;
      case 'peer_id':
        peerId = decodeFixed(raw, key, PEER_ID_BYTES);
        break;
      case 'port':
        port = decodePort(decodeText(raw, key), key);
        break;
      case 'uploaded':
      case 'downloaded':
      case 'left':
        params[key] = decodeCount(raw, key);
        break;
      case 'event':
        params.event = decodeEvent(raw);
        break;
      case 'numwant':
        params.numwant = decodeNumwant(raw);
        break;
      case 'compact':
        params.compact = decodeFlag(raw, key);
        break;
      case 'no_peer_id':
        params.noPeerId = decodeFlag(raw, key);
        break;
      case 'ip':
        params.ip = decodeAddress(raw, key);
        break;
      case 'ipv4':
      case 'ipv6':
        params[key] = decodeFamilyEndpoint(raw, key);
        break;
      case 'key':
        params.key = decodeToken(raw, key);
        break;
      case 'trackerid':
        params.trackerId = decodeToken(raw, key);
        break;
      case 'ss_up':
        params.upstreamBps = decodeUpstream(raw);
        break;
      case 'ss_delay':
        delays ??= new Map();
        decodeDelays(raw, delays);
        break;
      default:
        // Clients send many more (supportcrypto, corrupt, redundant...); they change nothing here.
        break;
    }
  }
  if (infoHash === undefined) throw new MissingParameterError('info_hash');
  if (peerId === undefined) throw new MissingParameterError('peer_id');
  if (port === undefined) throw new MissingParameterError('port');
  return {
    ...params,
    infoHash,
    peerId,
    port,
    compact: params.compact ?? true,
    noPeerId: params.noPeerId ?? false,
    ...(delays === undefined ? {} : { delays: [...delays.values()] }),
  };
}

const KNOWN_SINGLE = new Set([
  'info_hash',
  'peer_id',
  'port',
  'uploaded',
  'downloaded',
  'left',
  'event',
  'numwant',
  'compact',
  'no_peer_id',
  'ip',
  'ipv4',
  'ipv6',
  'key',
  'trackerid',
  'ss_up',
]);

/**
 * Just the extension parameters of a query, for transports that carry the rest in binary (BEP 41
 * URL data of a UDP announce). Other keys are ignored.
 */
export function parseExtensionQuery(rawQuery: string): {
  upstreamBps?: number;
  delays?: readonly DelayReport[];
} {
  let upstreamBps: number | undefined;
  let delays: Map<string, DelayReport> | undefined;
  for (const [key, raw] of splitQuery(rawQuery)) {
    if (key === 'ss_up') {
      if (upstreamBps !== undefined) throw new MalformedParameterError(key, 'given more than once');
      upstreamBps = decodeUpstream(raw);
    } else if (key === 'ss_delay') {
      delays ??= new Map();
      decodeDelays(raw, delays);
    }
  }
  return {
    ...(upstreamBps === undefined ? {} : { upstreamBps }),
    ...(delays === undefined ? {} : { delays: [...delays.values()] }),
  };
}

/** The infohashes a scrape asks about (BEP 48); empty means "every torrent". */
export function parseScrapeQuery(rawQuery: string): Buffer[] {
  const hashes: Buffer[] = [];
  for (const [key, raw] of splitQuery(rawQuery)) {
    if (key !== 'info_hash') continue;
    if (hashes.length >= MAX_SCRAPE_INFO_HASHES) {
      throw new TooManyValuesError('info_hash', hashes.length + 1, MAX_SCRAPE_INFO_HASHES);
    }
    hashes.push(decodeFixed(raw, key, INFO_HASH_BYTES));
  }
  return hashes;
}
