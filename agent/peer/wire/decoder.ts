import { KIND_BY_MESSAGE_ID, kindOf, type MessageStats } from '../accounting/message-stats.js';
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_REQUEST_LENGTH, MessageId } from './constants.js';
import { BadMessageError, MessageTooLargeError } from './errors.js';

/**
 * Receives decoded messages. Handlers may throw a ProtocolError; it propagates out of
 * `WireDecoder.push`, and the connection closes.
 */
export interface WireHandler {
  onKeepAlive(): void;
  onChoke(): void;
  onUnchoke(): void;
  onInterested(): void;
  onNotInterested(): void;
  onHave(index: number): void;
  /** `bytes` is a view valid only during the call. */
  onBitfield(bytes: Buffer): void;
  onRequest(index: number, begin: number, length: number): void;
  onCancel(index: number, begin: number, length: number): void;
  onPort(port: number): void;
  onSuggest(index: number): void;
  onHaveAll(): void;
  onHaveNone(): void;
  onReject(index: number, begin: number, length: number): void;
  onAllowedFast(index: number): void;
  /** `payload` (after the extended id byte) is a view valid only during the call. */
  onExtended(extendedId: number, payload: Buffer): void;
  /**
   * A block starts arriving: return the buffer of the whole piece (the block is copied into it at
   * offset `begin`), or null to discard the block (unrequested, duplicate).
   */
  onPieceStart(index: number, begin: number, length: number): Uint8Array | null;
  /** The block is complete (copied into `target` when one was returned). */
  onPieceEnd(index: number, begin: number, length: number, target: Uint8Array | null): void;
  onUnknown(id: number, payload: Buffer): void;
}

export interface WireDecoderInit {
  /** Number of pieces in the torrent: bounds the bitfield length. */
  readonly pieceCount: number;
  readonly stats?: MessageStats;
  /** Largest message of an unknown id we skip over rather than treat as hostile. */
  readonly maxUnknownLength?: number;
}

enum State {
  Length,
  Header,
  Payload,
  PieceBody,
}

/** Exact payload length (after the id) of fixed-size messages; -1 for variable. */
const FIXED_LENGTH: readonly number[] = (() => {
  const table = new Array<number>(256).fill(-1);
  table[MessageId.choke] = 0;
  table[MessageId.unchoke] = 0;
  table[MessageId.interested] = 0;
  table[MessageId.notInterested] = 0;
  table[MessageId.have] = 4;
  table[MessageId.request] = 12;
  table[MessageId.cancel] = 12;
  table[MessageId.port] = 2;
  table[MessageId.suggest] = 4;
  table[MessageId.haveAll] = 0;
  table[MessageId.haveNone] = 0;
  table[MessageId.reject] = 12;
  table[MessageId.allowedFast] = 4;
  return table;
})();

const KEEPALIVE_KIND = kindOf('keepalive');
const EXTENDED_HANDSHAKE_KIND = kindOf('extended_handshake');
const DEFAULT_MAX_UNKNOWN_LENGTH = 65_536;
const EMPTY = Buffer.alloc(0);
/** Largest piece-message payload (index + begin + block). */
const MAX_PIECE_PAYLOAD = 8 + MAX_REQUEST_LENGTH;

/**
 * An incremental decoder of the BitTorrent peer wire (after the handshake).
 *
 * Lengths are checked against a per-id cap as soon as the 5-byte header is in, so a hostile
 * length never makes us buffer. Messages that lie inside one socket chunk are handed out as views
 * of it; block data of `piece` messages is copied exactly once, straight from the socket chunks into
 * the sink the handler returns (the piece's assembly buffer). Only small messages split across
 * chunks are gathered into a fresh buffer.
 */
export class WireDecoder {
  readonly #handler: WireHandler;
  readonly #stats: MessageStats | undefined;
  readonly #maxBitfieldPayload: number;
  readonly #maxUnknownLength: number;
  readonly #chunks: Buffer[] = [];
  #chunkOffset = 0;
  #available = 0;
  #state = State.Length;
  #length = 0;
  #id = 0;
  readonly #scratch = Buffer.allocUnsafe(12);
  // Piece-body progress.
  #pieceIndex = 0;
  #pieceBegin = 0;
  #pieceLength = 0;
  #pieceCopied = 0;
  #sink: Uint8Array | null = null;
  #destroyed = false;
  /** Extended ids at or above this are extension messages; 0 is the extended handshake. */
  extensionKindOf: (extendedId: number) => number = () => kindOf('unknown');

  constructor(handler: WireHandler, init: WireDecoderInit) {
    this.#handler = handler;
    this.#stats = init.stats;
    this.#maxBitfieldPayload = Math.ceil(init.pieceCount / 8);
    this.#maxUnknownLength = init.maxUnknownLength ?? DEFAULT_MAX_UNKNOWN_LENGTH;
  }

  /** Bytes received but not yet decoded. */
  get buffered(): number {
    return this.#available;
  }

  /** Stops decoding: later pushes are ignored (the connection is closing). */
  destroy(): void {
    this.#destroyed = true;
    this.#chunks.length = 0;
    this.#available = 0;
  }

  /**
   * Feeds bytes from the socket; decodes every complete message. Throws ProtocolError.
   * `transient`: the chunk is only valid during this call (a shared read buffer), so any bytes of
   * an unfinished message are copied before returning. Block data never needs that copy: it goes
   * straight into the piece buffer as it arrives.
   */
  push(chunk: Buffer, transient = false): void {
    if (this.#destroyed || chunk.length === 0) return;
    this.#decode(chunk);
    if (transient && this.#available > 0) this.#retainRemainder();
  }

  /** Replaces the buffered views with one copy of the undecoded bytes. */
  #retainRemainder(): void {
    const copy = Buffer.allocUnsafe(this.#available);
    let at = 0;
    for (let i = 0; i < this.#chunks.length; i++) {
      const c = this.#chunks[i];
      const from = i === 0 ? this.#chunkOffset : 0;
      c.copy(copy, at, from);
      at += c.length - from;
    }
    this.#chunks.length = 0;
    this.#chunks.push(copy);
    this.#chunkOffset = 0;
  }

  #decode(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#available += chunk.length;
    // Each iteration consumes bytes or returns, so the loop is bounded by the input size.
    while (!this.#destroyed) {
      switch (this.#state) {
        case State.Length: {
          if (this.#available < 4) return;
          this.#length = this.#readUInt32();
          if (this.#length === 0) {
            this.#stats?.recordIn(KEEPALIVE_KIND, 4);
            this.#handler.onKeepAlive();
            break;
          }
          this.#state = State.Header;
          break;
        }
        case State.Header: {
          if (this.#available < 1) return;
          this.#id = this.#readUInt8();
          this.#checkLength(this.#id, this.#length - 1);
          if (this.#id === MessageId.piece) {
            if (this.#available < 8) {
              // Rare: wait for the rest of the piece header with the id already consumed.
              this.#state = State.Payload;
              break;
            }
            this.#startPiece();
          } else {
            this.#state = State.Payload;
          }
          break;
        }
        case State.Payload: {
          if (this.#id === MessageId.piece) {
            if (this.#available < 8) return;
            this.#startPiece();
            break;
          }
          const payloadLength = this.#length - 1;
          if (this.#available < payloadLength) return;
          const payload = this.#take(payloadLength);
          this.#state = State.Length;
          this.#dispatch(this.#id, payload);
          break;
        }
        case State.PieceBody: {
          if (this.#available === 0) return;
          this.#copyPieceBytes();
          if (this.#pieceCopied === this.#pieceLength) {
            this.#state = State.Length;
            const sink = this.#sink;
            this.#sink = null;
            this.#stats?.recordIn(KIND_BY_MESSAGE_ID[MessageId.piece], 4 + this.#length);
            this.#handler.onPieceEnd(this.#pieceIndex, this.#pieceBegin, this.#pieceLength, sink);
          }
          break;
        }
      }
    }
  }

  #checkLength(id: number, payloadLength: number): void {
    const fixed = FIXED_LENGTH[id];
    if (fixed >= 0) {
      if (payloadLength !== fixed) {
        throw new BadMessageError(`message id ${id} has a ${payloadLength}-byte payload, expected ${fixed}`);
      }
      return;
    }
    let limit: number;
    switch (id) {
      case MessageId.piece:
        if (payloadLength < 8)
          throw new BadMessageError(`piece message of ${payloadLength} bytes is too short`);
        limit = MAX_PIECE_PAYLOAD;
        break;
      case MessageId.bitfield:
        if (payloadLength !== this.#maxBitfieldPayload) {
          throw new BadMessageError(
            `bitfield of ${payloadLength} bytes, expected ${this.#maxBitfieldPayload} for this torrent`,
          );
        }
        return;
      case MessageId.extended:
        if (payloadLength < 1) throw new BadMessageError('extended message without an extended id');
        limit = MAX_EXTENDED_MESSAGE_LENGTH;
        break;
      default:
        limit = this.#maxUnknownLength;
    }
    if (payloadLength > limit) throw new MessageTooLargeError(id, payloadLength + 1, limit + 1);
  }

  #startPiece(): void {
    this.#pieceIndex = this.#readUInt32();
    this.#pieceBegin = this.#readUInt32();
    this.#pieceLength = this.#length - 9;
    this.#pieceCopied = 0;
    this.#state = State.PieceBody;
    this.#sink = this.#handler.onPieceStart(this.#pieceIndex, this.#pieceBegin, this.#pieceLength);
    if (this.#pieceLength === 0) {
      this.#state = State.Length;
      const sink = this.#sink;
      this.#sink = null;
      this.#stats?.recordIn(KIND_BY_MESSAGE_ID[MessageId.piece], 4 + this.#length);
      this.#handler.onPieceEnd(this.#pieceIndex, this.#pieceBegin, 0, sink);
    }
  }

  /** Copies as much of the block as is buffered into the sink (or skips it). */
  #copyPieceBytes(): void {
    const sink = this.#sink;
    // Bounded by the number of buffered chunks.
    while (this.#pieceCopied < this.#pieceLength && this.#available > 0) {
      const chunk = this.#chunks[0];
      const n = Math.min(chunk.length - this.#chunkOffset, this.#pieceLength - this.#pieceCopied);
      if (sink !== null)
        chunk.copy(sink, this.#pieceBegin + this.#pieceCopied, this.#chunkOffset, this.#chunkOffset + n);
      this.#pieceCopied += n;
      this.#consume(n);
    }
  }

  #dispatch(id: number, payload: Buffer): void {
    const h = this.#handler;
    const wireBytes = 5 + payload.length;
    if (id === MessageId.extended) {
      const extendedId = payload[0];
      const kind = extendedId === 0 ? EXTENDED_HANDSHAKE_KIND : this.extensionKindOf(extendedId);
      this.#stats?.recordIn(kind, wireBytes);
      h.onExtended(extendedId, payload.subarray(1));
      return;
    }
    this.#stats?.recordIn(KIND_BY_MESSAGE_ID[id], wireBytes);
    switch (id) {
      case MessageId.choke:
        h.onChoke();
        return;
      case MessageId.unchoke:
        h.onUnchoke();
        return;
      case MessageId.interested:
        h.onInterested();
        return;
      case MessageId.notInterested:
        h.onNotInterested();
        return;
      case MessageId.have:
        h.onHave(payload.readUInt32BE(0));
        return;
      case MessageId.bitfield:
        h.onBitfield(payload);
        return;
      case MessageId.request:
        h.onRequest(payload.readUInt32BE(0), payload.readUInt32BE(4), payload.readUInt32BE(8));
        return;
      case MessageId.cancel:
        h.onCancel(payload.readUInt32BE(0), payload.readUInt32BE(4), payload.readUInt32BE(8));
        return;
      case MessageId.port:
        h.onPort(payload.readUInt16BE(0));
        return;
      case MessageId.suggest:
        h.onSuggest(payload.readUInt32BE(0));
        return;
      case MessageId.haveAll:
        h.onHaveAll();
        return;
      case MessageId.haveNone:
        h.onHaveNone();
        return;
      case MessageId.reject:
        h.onReject(payload.readUInt32BE(0), payload.readUInt32BE(4), payload.readUInt32BE(8));
        return;
      case MessageId.allowedFast:
        h.onAllowedFast(payload.readUInt32BE(0));
        return;
      default:
        h.onUnknown(id, payload);
        return;
    }
  }

  #consume(n: number): void {
    this.#available -= n;
    this.#chunkOffset += n;
    if (this.#chunkOffset === this.#chunks[0].length) {
      this.#chunks.shift();
      this.#chunkOffset = 0;
    }
  }

  #readUInt8(): number {
    const v = this.#chunks[0][this.#chunkOffset];
    this.#consume(1);
    return v;
  }

  #readUInt32(): number {
    const chunk = this.#chunks[0];
    if (chunk.length - this.#chunkOffset >= 4) {
      const v = chunk.readUInt32BE(this.#chunkOffset);
      this.#consume(4);
      return v;
    }
    return this.#takeSmall(4).readUInt32BE(0);
  }

  /** Up to 12 bytes into the scratch buffer (valid until the next call). */
  #takeSmall(n: number): Buffer {
    const chunk = this.#chunks[0];
    if (chunk.length - this.#chunkOffset >= n) {
      const view = chunk.subarray(this.#chunkOffset, this.#chunkOffset + n);
      this.#consume(n);
      return view;
    }
    for (let i = 0; i < n; i++) this.#scratch[i] = this.#readUInt8();
    return this.#scratch.subarray(0, n);
  }

  /** `n` bytes as a view when they lie in one chunk, else gathered into a new buffer. */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const chunk = this.#chunks[0];
    if (chunk.length - this.#chunkOffset >= n) {
      const view = chunk.subarray(this.#chunkOffset, this.#chunkOffset + n);
      this.#consume(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const c = this.#chunks[0];
      const k = Math.min(c.length - this.#chunkOffset, n - copied);
      c.copy(out, copied, this.#chunkOffset, this.#chunkOffset + k);
      copied += k;
      this.#consume(k);
    }
    return out;
  }
}
