import { type BencodeDict, type BencodeValue, decode, dictGet, encode, isDict } from '../../bencode/index.js';
import { ProtocolError } from '../errors.js';
import type { ExtensionPeer, WireExtension } from './wire-extension.js';

/**
 * The paper's `require` and the peer's own upstream capacity: a dictionary under the `ss_qos` key
 * of the extended handshake, and an `ss_qos` message carrying the same dictionary when the values
 * change (see EXTENSIONS.md).
 */
export const SS_QOS = 'ss_qos';

/** Keys of the `ss_qos` dictionary. */
export const QOS_KEYS = {
  minBitrate: 'min_bitrate',
  maxDelay: 'max_delay',
  upstream: 'upstream',
} as const;

/** Largest bitrate / capacity we accept (1 Tbit/s, 1 TB/s): anything above is garbage. */
export const MAX_QOS_RATE = 1e12;
/** Largest response delay we accept: one day. */
export const MAX_QOS_DELAY_MS = 86_400_000;
/** An `ss_qos` message is a small dictionary; anything longer is not one. */
export const MAX_QOS_MESSAGE_LENGTH = 1_024;

/** What a peer declared. Absent (or 0 on the wire) means no constraint / unknown. */
export interface PeerQos {
  /** `require`: the minimum sustained bitrate it wants to receive at, bits/s. */
  readonly minBitrateBitsPerSec?: number;
  /** `require`: the longest it is willing to wait for requested data, ms. */
  readonly maxDelayMs?: number;
  /** Its own upstream capacity, bytes/s. */
  readonly upstreamBytesPerSec?: number;
}

/** The paper's `require`: what a peer needs from the peers it downloads from. */
export type QosRequirement = Pick<PeerQos, 'minBitrateBitsPerSec' | 'maxDelayMs'>;

/** An `ss_qos` dictionary (handshake key or message) that is malformed. */
export class MalformedQosError extends ProtocolError {
  constructor(message: string) {
    super('ERR_BAD_QOS', `ss_qos: ${message}`);
  }
}

/** The dictionary for `qos` (zero and absent values are omitted). */
export function qosDict(qos: PeerQos): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (key: string, v: number | undefined): void => {
    if (v !== undefined && v > 0) out[key] = Math.round(v);
  };
  put(QOS_KEYS.minBitrate, qos.minBitrateBitsPerSec);
  put(QOS_KEYS.maxDelay, qos.maxDelayMs);
  put(QOS_KEYS.upstream, qos.upstreamBytesPerSec);
  return out;
}

/** Validates a decoded `ss_qos` dictionary; unknown keys are ignored. Throws MalformedQosError. */
export function parseQos(value: BencodeValue | undefined, where: string): PeerQos {
  if (!isDict(value)) throw new MalformedQosError(`${where} is not a dictionary`);
  const read = (key: string, max: number): number | undefined => {
    const v = dictGet(value, key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
      throw new MalformedQosError(`${where}.${key} must be an integer in 0..${max}`);
    }
    return v === 0 ? undefined : v;
  };
  const qos: { -readonly [K in keyof PeerQos]: PeerQos[K] } = {};
  const minBitrate = read(QOS_KEYS.minBitrate, MAX_QOS_RATE);
  const maxDelay = read(QOS_KEYS.maxDelay, MAX_QOS_DELAY_MS);
  const upstream = read(QOS_KEYS.upstream, MAX_QOS_RATE);
  if (minBitrate !== undefined) qos.minBitrateBitsPerSec = minBitrate;
  if (maxDelay !== undefined) qos.maxDelayMs = maxDelay;
  if (upstream !== undefined) qos.upstreamBytesPerSec = upstream;
  return qos;
}

/** The payload of an `ss_qos` message: the bencoded dictionary. */
export function encodeQosMessage(qos: PeerQos): Buffer {
  return encode(qosDict(qos));
}

/** Decodes an `ss_qos` message payload. Throws MalformedQosError. */
export function decodeQosMessage(payload: Uint8Array): PeerQos {
  if (payload.length > MAX_QOS_MESSAGE_LENGTH) {
    throw new MalformedQosError(`message of ${payload.length} bytes, at most ${MAX_QOS_MESSAGE_LENGTH}`);
  }
  let value: BencodeValue;
  try {
    value = decode(Buffer.from(payload.buffer, payload.byteOffset, payload.length), {
      allowUnsortedKeys: true,
      maxDepth: 4,
    });
  } catch (err) {
    throw new MalformedQosError(`message is not bencode: ${(err as Error).message}`);
  }
  return parseQos(value, 'message');
}

export interface QosExtensionInit {
  /** Our current values, read whenever a handshake goes out. */
  readonly local: () => PeerQos;
  /** A peer declared (or changed) its values. */
  readonly onQos: (peer: ExtensionPeer, qos: PeerQos) => void;
  /** Any remote extended handshake arrived (after `onQos`, when it declared values). */
  readonly onRemoteHandshake?: (peer: ExtensionPeer) => void;
}

/**
 * Carries `ss_qos` in the extended handshake (to every BEP 10 peer: unknown handshake keys are
 * ignored by design) and receives the update message (sent only to peers that list `ss_qos`).
 */
export class QosExtension implements WireExtension {
  readonly name = SS_QOS;
  readonly #init: QosExtensionInit;

  constructor(init: QosExtensionInit) {
    this.#init = init;
  }

  handshakeFields(): Record<string, Record<string, number> | undefined> {
    const dict = qosDict(this.#init.local());
    return { [SS_QOS]: Object.keys(dict).length > 0 ? dict : undefined };
  }

  onHandshake(peer: ExtensionPeer, handshake: BencodeDict): void {
    const value = dictGet(handshake, SS_QOS);
    if (value !== undefined) this.#init.onQos(peer, parseQos(value, `extended handshake ${SS_QOS}`));
    this.#init.onRemoteHandshake?.(peer);
  }

  onMessage(peer: ExtensionPeer, payload: Buffer): void {
    this.#init.onQos(peer, decodeQosMessage(payload));
  }
}
