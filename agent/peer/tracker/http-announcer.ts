import type http from 'node:http';
import { isIP } from 'node:net';
import {
  asBuffer,
  asDict,
  asInt,
  asList,
  type BencodeDict,
  type BencodeValue,
  decode,
  dictGet,
  isDict,
  keyPath,
} from '../bencode/index.js';
import { SeedstreamError } from '../errors.js';
import type {
  AnnouncedPeer,
  AnnounceRequest,
  AnnounceResponse,
  Announcer,
  PeerDelayReport,
} from './announcer.js';
import {
  TrackerFailureError,
  TrackerHttpStatusError,
  TrackerRequestInvalidError,
  TrackerResponseError,
  TrackerUrlError,
} from './errors.js';
import { httpGet } from './http-get.js';

export const ANNOUNCE_TIMEOUT_MS = 15_000;
/** A compact list of 200 peers is 1.2 KB; anything near this bound is not a tracker reply. */
export const MAX_TRACKER_RESPONSE_BYTES = 1024 * 1024;
/** What seedstream's tracker accepts in `ss_delay` (see agent/tracker/README-extension.md). */
export const MAX_DELAY_REPORTS = 200;
export const MAX_DELAY_MS = 600_000;
const INFO_HASH_BYTES = 20;
const PEER_ID_BYTES = 20;
const COMPACT_V4_BYTES = 6;
const COMPACT_V6_BYTES = 18;

export interface HttpAnnouncerInit {
  /** The announce URL; may carry its own query (a passkey), which is kept. */
  readonly url: string;
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
}

export interface HttpAnnouncerDeps {
  /** Shared keep-alive agent; default: node's global agent. */
  readonly agent?: http.Agent;
}

/** Unreserved bytes (RFC 3986) stay as they are; every other byte becomes %XX. */
const ESCAPED_BYTE: string[] = Array.from({ length: 256 }, (_, b) =>
  /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
    ? String.fromCharCode(b)
    : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
);

/** Percent-encodes raw bytes (an infohash, a peer id) for a query string. */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += ESCAPED_BYTE[bytes[i]];
  return out;
}

function parseTrackerUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TrackerUrlError(url, 'not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TrackerUrlError(url, `protocol ${parsed.protocol} is not http or https`);
  }
  return parsed;
}

/** The request target: path, the URL's own query, then ours. */
function targetOf(base: URL, query: string): string {
  const own = base.search.length > 1 ? `${base.search.slice(1)}&` : '';
  return `${base.pathname}?${own}${query}`;
}

/** BEP 48: the scrape URL replaces `announce` at the start of the last path segment. */
export function scrapeUrlOf(announceUrl: string): string {
  const base = parseTrackerUrl(announceUrl);
  const slash = base.pathname.lastIndexOf('/');
  const last = base.pathname.slice(slash + 1);
  if (!last.startsWith('announce')) {
    throw new TrackerUrlError(
      announceUrl,
      'no scrape URL: the last path segment does not start with "announce"',
    );
  }
  base.pathname = `${base.pathname.slice(0, slash + 1)}scrape${last.slice('announce'.length)}`;
  return base.toString();
}

function nonNegativeInt(url: string, name: string, v: number): string {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new TrackerRequestInvalidError(url, `${name} must be a non-negative integer, got ${v}`);
  }
  return String(v);
}

/**
 * `ss_delay` text: `host:port:ms` entries, IPv6 in brackets (escaped, as brackets may not appear
 * raw in a query), `:` and `,` left raw. Hosts that are not IP literals are left out because the
 * tracker matches reports to the addresses peers announce from; past MAX_DELAY_REPORTS the
 * shortest delays are kept, the most useful ones for the tracker's ranking.
 */
export function encodeDelays(url: string, delays: readonly PeerDelayReport[]): string {
  const usable: PeerDelayReport[] = [];
  for (const d of delays) {
    if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65_535) {
      throw new TrackerRequestInvalidError(url, `delay report for ${d.host}: bad port ${d.port}`);
    }
    if (!Number.isFinite(d.delayMs) || d.delayMs < 0) {
      throw new TrackerRequestInvalidError(
        url,
        `delay report for ${d.host}:${d.port}: bad delay ${d.delayMs}`,
      );
    }
    if (isIP(d.host) !== 0) usable.push(d);
  }
  if (usable.length > MAX_DELAY_REPORTS) {
    usable.sort((a, b) => a.delayMs - b.delayMs);
    usable.length = MAX_DELAY_REPORTS;
  }
  return usable
    .map((d) => {
      const host = isIP(d.host) === 6 ? `%5B${d.host.replaceAll(':', '%3A')}%5D` : d.host;
      const ms = Number(Math.min(d.delayMs, MAX_DELAY_MS).toFixed(3));
      return `${host}:${d.port}:${ms}`;
    })
    .join(',');
}

/** The announce query string (without `?`). */
export function buildAnnounceQuery(url: string, req: AnnounceRequest): string {
  if (req.infoHash.length !== INFO_HASH_BYTES) {
    throw new TrackerRequestInvalidError(
      url,
      `infoHash must be ${INFO_HASH_BYTES} bytes, got ${req.infoHash.length}`,
    );
  }
  if (req.peerId.length !== PEER_ID_BYTES) {
    throw new TrackerRequestInvalidError(
      url,
      `peerId must be ${PEER_ID_BYTES} bytes, got ${req.peerId.length}`,
    );
  }
  if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65_535) {
    throw new TrackerRequestInvalidError(url, `port must be 1-65535, got ${req.port}`);
  }
  const parts = [
    `info_hash=${percentEncodeBytes(req.infoHash)}`,
    `peer_id=${percentEncodeBytes(req.peerId)}`,
    `port=${req.port}`,
    `uploaded=${nonNegativeInt(url, 'uploaded', req.uploaded)}`,
    `downloaded=${nonNegativeInt(url, 'downloaded', req.downloaded)}`,
    `left=${nonNegativeInt(url, 'left', req.left)}`,
    'compact=1',
  ];
  if (req.event !== undefined) parts.push(`event=${req.event}`);
  if (req.numwant !== undefined) parts.push(`numwant=${nonNegativeInt(url, 'numwant', req.numwant)}`);
  if (req.key !== undefined) parts.push(`key=${percentEncodeBytes(Buffer.from(req.key))}`);
  if (req.trackerId !== undefined) parts.push(`trackerid=${percentEncodeBytes(Buffer.from(req.trackerId))}`);
  if (req.upstreamBps !== undefined) {
    parts.push(`ss_up=${nonNegativeInt(url, 'upstreamBps', Math.round(req.upstreamBps))}`);
  }
  if (req.delays !== undefined) parts.push(`ss_delay=${encodeDelays(url, req.delays)}`);
  return parts.join('&');
}

/** Reads a tracker reply: failure reason first, then the fields, each fault naming its key. */
function decodeReply(url: string, body: Buffer, status: number): BencodeDict {
  let value: BencodeValue;
  try {
    value = decode(body);
  } catch (err) {
    if (status !== 200) throw new TrackerHttpStatusError(url, status);
    throw new TrackerResponseError(url, `reply is not valid bencode: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!isDict(value)) {
    if (status !== 200) throw new TrackerHttpStatusError(url, status);
    throw new TrackerResponseError(url, 'reply is not a dictionary');
  }
  const failure = dictGet(value, 'failure reason');
  if (failure !== undefined) {
    throw new TrackerFailureError(url, Buffer.isBuffer(failure) ? failure.toString('utf8') : String(failure));
  }
  if (status !== 200) throw new TrackerHttpStatusError(url, status);
  return value;
}

function compactPeers(bytes: Buffer, entryBytes: number, key: string, url: string): AnnouncedPeer[] {
  if (bytes.length % entryBytes !== 0) {
    throw new TrackerResponseError(url, `${key}: ${bytes.length} bytes is not a multiple of ${entryBytes}`);
  }
  const addressBytes = entryBytes - 2;
  const out: AnnouncedPeer[] = [];
  for (let at = 0; at < bytes.length; at += entryBytes) {
    const port = bytes.readUInt16BE(at + addressBytes);
    // Port 0 cannot be connected to; some trackers emit it for firewalled peers.
    if (port === 0) continue;
    out.push({ host: formatAddress(bytes.subarray(at, at + addressBytes)), port });
  }
  return out;
}

function formatAddress(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Canonical compression through the URL parser (RFC 5952), rather than a second implementation.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function dictPeers(list: BencodeValue[], url: string): AnnouncedPeer[] {
  const out: AnnouncedPeer[] = [];
  for (let i = 0; i < list.length; i++) {
    const where = keyPath('peers', i);
    const entry = asDict(list[i], where);
    const host = asBuffer(dictGet(entry, 'ip'), keyPath(where, 'ip')).toString('utf8');
    const port = asInt(dictGet(entry, 'port'), keyPath(where, 'port'));
    if (port < 0 || port > 65_535)
      throw new TrackerResponseError(url, `${where}.port: ${port} is out of range`);
    if (port === 0) continue;
    const id = dictGet(entry, 'peer id');
    out.push(
      id === undefined ? { host, port } : { host, port, peerId: asBuffer(id, keyPath(where, 'peer id')) },
    );
  }
  return out;
}

function optionalInt(dict: BencodeDict, key: string): number | undefined {
  const v = dictGet(dict, key);
  return v === undefined ? undefined : asInt(v, key);
}

function optionalText(dict: BencodeDict, key: string): string | undefined {
  const v = dictGet(dict, key);
  return v === undefined ? undefined : asBuffer(v, key).toString('utf8');
}

/** Turns the accessors' type errors into TrackerResponseError naming the URL. */
function readingReply<T>(url: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof SeedstreamError && err.code.startsWith('ERR_TRACKER_')) throw err;
    throw new TrackerResponseError(url, (err as Error).message, { cause: err });
  }
}

export function parseAnnounceReply(url: string, body: Buffer, status = 200): AnnounceResponse {
  const dict = decodeReply(url, body, status);
  return readingReply(url, () => {
    const intervalValue = dictGet(dict, 'interval');
    if (intervalValue === undefined) throw new TrackerResponseError(url, 'interval: required key is missing');
    const interval = asInt(intervalValue, 'interval');
    if (interval < 0) throw new TrackerResponseError(url, `interval: ${interval} is negative`);
    const peers: AnnouncedPeer[] = [];
    const v4 = dictGet(dict, 'peers');
    if (Buffer.isBuffer(v4)) peers.push(...compactPeers(v4, COMPACT_V4_BYTES, 'peers', url));
    else if (v4 !== undefined) peers.push(...dictPeers(asList(v4, 'peers'), url));
    const v6 = dictGet(dict, 'peers6');
    if (v6 !== undefined)
      peers.push(...compactPeers(asBuffer(v6, 'peers6'), COMPACT_V6_BYTES, 'peers6', url));
    const response: {
      -readonly [K in keyof AnnounceResponse]: AnnounceResponse[K];
    } = { interval, peers };
    const minInterval = optionalInt(dict, 'min interval');
    if (minInterval !== undefined) response.minInterval = minInterval;
    const trackerId = optionalText(dict, 'tracker id');
    if (trackerId !== undefined) response.trackerId = trackerId;
    const complete = optionalInt(dict, 'complete');
    if (complete !== undefined) response.complete = complete;
    const incomplete = optionalInt(dict, 'incomplete');
    if (incomplete !== undefined) response.incomplete = incomplete;
    const warning = optionalText(dict, 'warning message');
    if (warning !== undefined) response.warning = warning;
    return response;
  });
}

/** BEP 3 / 23 / 7 announces over HTTP(S), with seedstream's `ss_up` / `ss_delay` when given. */
export class HttpAnnouncer implements Announcer {
  readonly url: string;
  readonly #base: URL;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #agent?: http.Agent;

  constructor(init: HttpAnnouncerInit, deps: HttpAnnouncerDeps = {}) {
    this.url = init.url;
    this.#base = parseTrackerUrl(init.url);
    this.#timeoutMs = init.timeoutMs ?? ANNOUNCE_TIMEOUT_MS;
    this.#maxBytes = init.maxResponseBytes ?? MAX_TRACKER_RESPONSE_BYTES;
    this.#agent = deps.agent;
  }

  async announce(req: AnnounceRequest, signal?: AbortSignal): Promise<AnnounceResponse> {
    const path = targetOf(this.#base, buildAnnounceQuery(this.url, req));
    const { status, body } = await httpGet(this.#base, path, this.url, {
      timeoutMs: this.#timeoutMs,
      maxBytes: this.#maxBytes,
      agent: this.#agent,
      signal,
    });
    return parseAnnounceReply(this.url, body, status);
  }
}

/** One torrent's counts from a scrape (BEP 48). */
export interface ScrapeEntry {
  readonly complete: number;
  readonly incomplete: number;
  readonly downloaded: number;
}

export interface ScrapeOptions {
  readonly timeoutMs?: number;
  readonly agent?: http.Agent;
}

/**
 * Scrapes the tracker behind `announceUrl` for `infoHashes`; the result maps infohash hex to its
 * counts. Torrents the tracker does not mention are absent from the map.
 */
export async function scrape(
  announceUrl: string,
  infoHashes: readonly Buffer[],
  signal?: AbortSignal,
  opts: ScrapeOptions = {},
): Promise<Map<string, ScrapeEntry>> {
  const url = scrapeUrlOf(announceUrl);
  const base = parseTrackerUrl(url);
  for (const h of infoHashes) {
    if (h.length !== INFO_HASH_BYTES) {
      throw new TrackerRequestInvalidError(url, `infohash must be ${INFO_HASH_BYTES} bytes, got ${h.length}`);
    }
  }
  const query = infoHashes.map((h) => `info_hash=${percentEncodeBytes(h)}`).join('&');
  const { status, body } = await httpGet(base, targetOf(base, query), url, {
    timeoutMs: opts.timeoutMs ?? ANNOUNCE_TIMEOUT_MS,
    maxBytes: MAX_TRACKER_RESPONSE_BYTES,
    agent: opts.agent,
    signal,
  });
  const dict = decodeReply(url, body, status);
  return readingReply(url, () => {
    const files = asDict(dictGet(dict, 'files'), 'files');
    const out = new Map<string, ScrapeEntry>();
    for (const key of Object.keys(files)) {
      const hex = Buffer.from(key, 'latin1').toString('hex');
      const where = `files.${hex}`;
      const entry = asDict(files[key], where);
      out.set(hex, {
        complete: asInt(dictGet(entry, 'complete') ?? 0, keyPath(where, 'complete')),
        incomplete: asInt(dictGet(entry, 'incomplete') ?? 0, keyPath(where, 'incomplete')),
        downloaded: asInt(dictGet(entry, 'downloaded') ?? 0, keyPath(where, 'downloaded')),
      });
    }
    return out;
  });
}
