import { ProtocolError } from '../errors.js';
import type { ExtensionPeer, WireExtension } from './wire-extension.js';

/** BEP 54's name in the `m` dictionary; the paper's `nohave`. */
export const LT_DONTHAVE = 'lt_donthave';
/** The payload after the extended id: the piece index, 4 bytes big-endian (BEP 54). */
export const DONTHAVE_PAYLOAD_LENGTH = 4;
/** Whole frame on the wire: length prefix, id 20, extended id, index. */
export const DONTHAVE_FRAME_LENGTH = 4 + 1 + 1 + DONTHAVE_PAYLOAD_LENGTH;

/** A DontHave message that is not one 4-byte piece index of this torrent. */
export class MalformedDontHaveError extends ProtocolError {
  constructor(message: string) {
    super('ERR_BAD_DONTHAVE', `lt_donthave: ${message}`);
  }
}

/** The payload of a DontHave for `index` (to send with the remote's extended id for lt_donthave). */
export function encodeDontHave(index: number): Buffer {
  const payload = Buffer.allocUnsafe(DONTHAVE_PAYLOAD_LENGTH);
  payload.writeUInt32BE(index, 0);
  return payload;
}

/** The piece index of a DontHave payload; throws MalformedDontHaveError. */
export function decodeDontHave(payload: Uint8Array, pieceCount: number): number {
  if (payload.length !== DONTHAVE_PAYLOAD_LENGTH) {
    throw new MalformedDontHaveError(
      `payload of ${payload.length} bytes, expected ${DONTHAVE_PAYLOAD_LENGTH} (a piece index)`,
    );
  }
  const index = Buffer.from(payload.buffer, payload.byteOffset, payload.length).readUInt32BE(0);
  if (index >= pieceCount) {
    throw new MalformedDontHaveError(`piece ${index}, but the torrent has ${pieceCount} pieces`);
  }
  return index;
}

/** What the torrent does with a valid DontHave. */
export interface DontHaveHandler {
  onDontHave(peer: ExtensionPeer, index: number): void;
}

/**
 * BEP 54 `lt_donthave`: a peer renounces a piece it announced before (the paper's `nohave`), as
 * libtorrent and WebTorrent send it. Only the receive side lives here; the torrent sends it when
 * it evicts a piece, and only to peers whose `m` lists `lt_donthave`.
 */
export class DontHaveExtension implements WireExtension {
  readonly name = LT_DONTHAVE;
  readonly #pieceCount: number;
  readonly #handler: DontHaveHandler;

  constructor(pieceCount: number, handler: DontHaveHandler) {
    this.#pieceCount = pieceCount;
    this.#handler = handler;
  }

  onMessage(peer: ExtensionPeer, payload: Buffer): void {
    this.#handler.onDontHave(peer, decodeDontHave(payload, this.#pieceCount));
  }
}
