import type { AnnounceEvent } from '../peer/tracker/announcer.js';
import {
  type AnnounceParams,
  type DelayReport,
  INFO_HASH_BYTES,
  NUMWANT_REJECT_ABOVE,
  PEER_ID_BYTES,
  parseExtensionQuery,
} from './announce-params.js';
import {
  MalformedParameterError,
  NumwantTooLargeError,
  TooManyValuesError,
  UnsupportedRequestError,
} from './errors.js';

/*
 * BEP 15 (UDP tracker protocol) packets, plus BEP 41 URL data, which carries our extension
 * parameters (`/announce?ss_up=...&ss_delay=...`) over UDP. All integers are big-endian.
 */

export const UDP_PROTOCOL_ID = 0x41727101980n;
export const ACTION_CONNECT = 0;
export const ACTION_ANNOUNCE = 1;
export const ACTION_SCRAPE = 2;
export const ACTION_ERROR = 3;
export const CONNECT_REQUEST_BYTES = 16;
export const ANNOUNCE_REQUEST_BYTES = 98;
export const SCRAPE_HEADER_BYTES = 16;
/** BEP 15: "up to about 74 torrents can be scraped at once". */
export const MAX_UDP_SCRAPE_INFO_HASHES = 74;
const OPTION_END = 0;
const OPTION_NOP = 1;
const OPTION_URL_DATA = 2;
const UDP_EVENTS: readonly (AnnounceEvent | undefined)[] = [undefined, 'completed', 'started', 'stopped'];

export type UdpRequest =
  | { readonly action: typeof ACTION_CONNECT; readonly transactionId: number }
  | {
      readonly action: typeof ACTION_ANNOUNCE;
      readonly transactionId: number;
      readonly connectionId: Buffer;
      readonly params: AnnounceParams;
    }
  | {
      readonly action: typeof ACTION_SCRAPE;
      readonly transactionId: number;
      readonly connectionId: Buffer;
      readonly infoHashes: Buffer[];
    };

/** The transaction id of a packet long enough to carry one, so even a refusal can be answered. */
export function transactionIdOf(packet: Buffer): number | undefined {
  return packet.length >= CONNECT_REQUEST_BYTES ? packet.readUInt32BE(12) : undefined;
}

function safeCount(packet: Buffer, at: number, name: string): number {
  const v = packet.readBigUInt64BE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedParameterError(name, `${v} is too large`);
  return Number(v);
}

/** BEP 41 options after the fixed announce: the concatenated URL data, or '' when there is none. */
function urlDataOf(packet: Buffer): string {
  let at = ANNOUNCE_REQUEST_BYTES;
  let url = '';
  while (at < packet.length) {
    const type = packet[at++];
    if (type === OPTION_END) break;
    if (type === OPTION_NOP) continue;
    if (at >= packet.length) throw new MalformedParameterError('url data', `option ${type} without a length`);
    const length = packet[at++];
    if (at + length > packet.length)
      throw new MalformedParameterError('url data', 'option runs past the packet');
    if (type === OPTION_URL_DATA) url += packet.toString('latin1', at, at + length);
    at += length;
  }
  return url;
}

function parseAnnounce(packet: Buffer): AnnounceParams {
  if (packet.length < ANNOUNCE_REQUEST_BYTES) {
    throw new UnsupportedRequestError(
      `announce of ${packet.length} bytes, need ${ANNOUNCE_REQUEST_BYTES}`,
      400,
    );
  }
  const eventCode = packet.readUInt32BE(80);
  if (eventCode >= UDP_EVENTS.length)
    throw new MalformedParameterError('event', `unknown event ${eventCode}`);
  const numwant = packet.readInt32BE(92);
  if (numwant > NUMWANT_REJECT_ABOVE) throw new NumwantTooLargeError(String(numwant), NUMWANT_REJECT_ABOVE);
  const port = packet.readUInt16BE(96);
  if (port === 0) throw new MalformedParameterError('port', 'port 0 is out of range 1-65535');
  const ip = packet.readUInt32BE(84);
  const url = urlDataOf(packet);
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const extension: { upstreamBps?: number; delays?: readonly DelayReport[] } = parseExtensionQuery(query);
  const event = UDP_EVENTS[eventCode];
  return {
    infoHash: Buffer.from(packet.subarray(16, 16 + INFO_HASH_BYTES)),
    peerId: Buffer.from(packet.subarray(36, 36 + PEER_ID_BYTES)),
    downloaded: safeCount(packet, 56, 'downloaded'),
    left: safeCount(packet, 64, 'left'),
    uploaded: safeCount(packet, 72, 'uploaded'),
    ...(event === undefined ? {} : { event }),
    // -1 means "default"; other negative values are read the same way.
    ...(numwant < 0 ? {} : { numwant }),
    ...(ip === 0 ? {} : { ip: Buffer.from(packet.subarray(84, 88)) }),
    key: packet.toString('hex', 88, 92),
    port,
    compact: true,
    noPeerId: true,
    ...extension,
  };
}

/** Decodes one request; throws a TrackerRequestError for anything malformed. */
export function parseUdpRequest(packet: Buffer): UdpRequest {
  if (packet.length < CONNECT_REQUEST_BYTES) {
    throw new UnsupportedRequestError(`packet of ${packet.length} bytes is too short`, 400);
  }
  const action = packet.readUInt32BE(8);
  const transactionId = packet.readUInt32BE(12);
  switch (action) {
    case ACTION_CONNECT:
      if (packet.readBigUInt64BE(0) !== UDP_PROTOCOL_ID) {
        throw new UnsupportedRequestError('connect without the BEP 15 protocol id', 400);
      }
      return { action, transactionId };
    case ACTION_ANNOUNCE:
      return { action, transactionId, connectionId: packet.subarray(0, 8), params: parseAnnounce(packet) };
    case ACTION_SCRAPE: {
      const body = packet.length - SCRAPE_HEADER_BYTES;
      if (body % INFO_HASH_BYTES !== 0) {
        throw new MalformedParameterError(
          'info_hash',
          `${body} bytes is not a multiple of ${INFO_HASH_BYTES}`,
        );
      }
      const count = body / INFO_HASH_BYTES;
      if (count > MAX_UDP_SCRAPE_INFO_HASHES) {
        throw new TooManyValuesError('info_hash', count, MAX_UDP_SCRAPE_INFO_HASHES);
      }
      const infoHashes: Buffer[] = [];
      for (let at = SCRAPE_HEADER_BYTES; at < packet.length; at += INFO_HASH_BYTES) {
        infoHashes.push(Buffer.from(packet.subarray(at, at + INFO_HASH_BYTES)));
      }
      return { action, transactionId, connectionId: packet.subarray(0, 8), infoHashes };
    }
    default:
      throw new UnsupportedRequestError(`unknown action ${action}`, 400);
  }
}

export function connectResponse(transactionId: number, connectionId: Buffer): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt32BE(ACTION_CONNECT, 0);
  out.writeUInt32BE(transactionId, 4);
  connectionId.copy(out, 8, 0, 8);
  return out;
}

export function announceResponse(
  transactionId: number,
  intervalSec: number,
  leechers: number,
  seeders: number,
  peers: Buffer,
): Buffer {
  const out = Buffer.alloc(20 + peers.length);
  out.writeUInt32BE(ACTION_ANNOUNCE, 0);
  out.writeUInt32BE(transactionId, 4);
  out.writeUInt32BE(intervalSec, 8);
  out.writeUInt32BE(leechers, 12);
  out.writeUInt32BE(seeders, 16);
  peers.copy(out, 20);
  return out;
}

export function scrapeResponse(
  transactionId: number,
  counts: readonly { readonly complete: number; readonly downloaded: number; readonly incomplete: number }[],
): Buffer {
  const out = Buffer.alloc(8 + 12 * counts.length);
  out.writeUInt32BE(ACTION_SCRAPE, 0);
  out.writeUInt32BE(transactionId, 4);
  counts.forEach((c, i) => {
    out.writeUInt32BE(c.complete, 8 + 12 * i);
    out.writeUInt32BE(c.downloaded, 12 + 12 * i);
    out.writeUInt32BE(c.incomplete, 16 + 12 * i);
  });
  return out;
}

export function errorResponse(transactionId: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const out = Buffer.alloc(8 + text.length);
  out.writeUInt32BE(ACTION_ERROR, 0);
  out.writeUInt32BE(transactionId, 4);
  text.copy(out, 8);
  return out;
}
