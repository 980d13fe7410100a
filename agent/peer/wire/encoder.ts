import {
  HANDSHAKE_LENGTH,
  MessageId,
  PROTOCOL_NAME,
  RESERVED_EXTENSION_PROTOCOL,
  RESERVED_FAST,
} from './constants.js';

function constantFrame(id: number): Buffer {
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(1, 0);
  frame[4] = id;
  return frame;
}

/** Precomputed frames for the payload-less messages: written as-is, never rebuilt. */
export const KEEPALIVE_FRAME = Buffer.alloc(4);
export const CHOKE_FRAME = constantFrame(MessageId.choke);
export const UNCHOKE_FRAME = constantFrame(MessageId.unchoke);
export const INTERESTED_FRAME = constantFrame(MessageId.interested);
export const NOT_INTERESTED_FRAME = constantFrame(MessageId.notInterested);
export const HAVE_ALL_FRAME = constantFrame(MessageId.haveAll);
export const HAVE_NONE_FRAME = constantFrame(MessageId.haveNone);

/** Our handshake reserved bytes: extension protocol (BEP 10) and fast extension (BEP 6). */
export function reservedBytes(opts: { extensions: boolean; fast: boolean }): Buffer {
  const reserved = Buffer.alloc(8);
  if (opts.extensions) reserved[RESERVED_EXTENSION_PROTOCOL.byte] |= RESERVED_EXTENSION_PROTOCOL.mask;
  if (opts.fast) reserved[RESERVED_FAST.byte] |= RESERVED_FAST.mask;
  return reserved;
}

export function encodeHandshake(infoHash: Uint8Array, peerId: Uint8Array, reserved: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HANDSHAKE_LENGTH);
  frame[0] = PROTOCOL_NAME.length;
  frame.write(PROTOCOL_NAME, 1, 'latin1');
  frame.set(reserved, 20);
  frame.set(infoHash, 28);
  frame.set(peerId, 48);
  return frame;
}

/** Writes a have/suggest/allowed-fast frame (9 bytes) at `offset` of `out`. */
export function writeIndexFrame(out: Buffer, offset: number, id: number, index: number): void {
  out.writeUInt32BE(5, offset);
  out[offset + 4] = id;
  out.writeUInt32BE(index, offset + 5);
}

function indexFrame(id: number, index: number): Buffer {
  const frame = Buffer.allocUnsafe(9);
  writeIndexFrame(frame, 0, id, index);
  return frame;
}

export const encodeHave = (index: number): Buffer => indexFrame(MessageId.have, index);
export const encodeSuggest = (index: number): Buffer => indexFrame(MessageId.suggest, index);
export const encodeAllowedFast = (index: number): Buffer => indexFrame(MessageId.allowedFast, index);

export function encodeBitfield(bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + bytes.length);
  frame.writeUInt32BE(1 + bytes.length, 0);
  frame[4] = MessageId.bitfield;
  frame.set(bytes, 5);
  return frame;
}

export const REQUEST_FRAME_LENGTH = 17;

/** Writes a request/cancel/reject frame at `offset` of `out` (17 bytes). */
export function writeBlockFrame(
  out: Buffer,
  offset: number,
  id: number,
  index: number,
  begin: number,
  length: number,
): void {
  out.writeUInt32BE(13, offset);
  out[offset + 4] = id;
  out.writeUInt32BE(index, offset + 5);
  out.writeUInt32BE(begin, offset + 9);
  out.writeUInt32BE(length, offset + 13);
}

export function encodeBlockFrame(id: number, index: number, begin: number, length: number): Buffer {
  const frame = Buffer.allocUnsafe(REQUEST_FRAME_LENGTH);
  writeBlockFrame(frame, 0, id, index, begin, length);
  return frame;
}

export const PIECE_HEADER_LENGTH = 13;

/** Writes the 13-byte header of a piece message carrying `blockLength` bytes. */
export function writePieceHeader(
  out: Buffer,
  offset: number,
  index: number,
  begin: number,
  blockLength: number,
): void {
  out.writeUInt32BE(9 + blockLength, offset);
  out[offset + 4] = MessageId.piece;
  out.writeUInt32BE(index, offset + 5);
  out.writeUInt32BE(begin, offset + 9);
}

export function encodePort(port: number): Buffer {
  const frame = Buffer.allocUnsafe(7);
  frame.writeUInt32BE(3, 0);
  frame[4] = MessageId.port;
  frame.writeUInt16BE(port, 5);
  return frame;
}

export function encodeExtended(extendedId: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(6 + payload.length);
  frame.writeUInt32BE(2 + payload.length, 0);
  frame[4] = MessageId.extended;
  frame[5] = extendedId;
  frame.set(payload, 6);
  return frame;
}
