import type { Socket } from 'node:net';
import { KIND_BY_MESSAGE_ID, kindOf, type MessageStats } from '../accounting/message-stats.js';
import type { BlockRef } from '../picker/piece-picker.js';
import { MessageId } from './constants.js';
import {
  CHOKE_FRAME,
  encodeAllowedFast,
  encodeBitfield,
  encodeBlockFrame,
  encodeExtended,
  encodeHave,
  encodeSuggest,
  FrameSlab,
  HAVE_ALL_FRAME,
  HAVE_NONE_FRAME,
  INTERESTED_FRAME,
  KEEPALIVE_FRAME,
  NOT_INTERESTED_FRAME,
  PIECE_HEADER_LENGTH,
  REQUEST_FRAME_LENGTH,
  UNCHOKE_FRAME,
  writeBlockFrame,
  writePieceHeader,
} from './encoder.js';

/** Above this many unsent bytes the socket counts as congested and serving pauses until drain. */
export const WRITE_HIGH_WATER_BYTES = 4 * 1_048_576;

const K = KIND_BY_MESSAGE_ID;
const EXTENDED_HANDSHAKE_KIND = kindOf('extended_handshake');
const KEEPALIVE_KIND = kindOf('keepalive');

/**
 * The sending half of a peer connection. Every write of one event-loop turn is corked and
 * flushed together (one writev), constant frames are shared, piece headers come from a slab, and
 * every message is accounted.
 */
export class WireWriter {
  readonly #socket: Socket;
  readonly #stats: MessageStats;
  readonly #slab = new FrameSlab();
  #corked = false;
  lastWriteAt = 0;

  constructor(socket: Socket, stats: MessageStats) {
    this.#socket = socket;
    this.#stats = stats;
  }

  get congested(): boolean {
    return this.#socket.writableLength > WRITE_HIGH_WATER_BYTES;
  }

  get writable(): boolean {
    return !this.#socket.destroyed && this.#socket.writable;
  }

  #write(frame: Uint8Array, kind: number, count = 1): void {
    if (!this.writable) return;
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    this.#socket.write(frame);
    this.#stats.recordOut(kind, frame.length, count);
    this.lastWriteAt = Date.now();
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.#socket.uncork();
  };

  keepAlive(): void {
    this.#write(KEEPALIVE_FRAME, KEEPALIVE_KIND);
  }
  choke(): void {
    this.#write(CHOKE_FRAME, K[MessageId.choke]);
  }
  unchoke(): void {
    this.#write(UNCHOKE_FRAME, K[MessageId.unchoke]);
  }
  interested(): void {
    this.#write(INTERESTED_FRAME, K[MessageId.interested]);
  }
  notInterested(): void {
    this.#write(NOT_INTERESTED_FRAME, K[MessageId.notInterested]);
  }
  haveAll(): void {
    this.#write(HAVE_ALL_FRAME, K[MessageId.haveAll]);
  }
  haveNone(): void {
    this.#write(HAVE_NONE_FRAME, K[MessageId.haveNone]);
  }
  have(index: number): void {
    this.#write(encodeHave(index), K[MessageId.have]);
  }
  bitfield(bytes: Uint8Array): void {
    this.#write(encodeBitfield(bytes), K[MessageId.bitfield]);
  }
  suggest(index: number): void {
    this.#write(encodeSuggest(index), K[MessageId.suggest]);
  }
  allowedFast(index: number): void {
    this.#write(encodeAllowedFast(index), K[MessageId.allowedFast]);
  }

  /** All requests in one buffer and one write. */
  requests(blocks: readonly BlockRef[]): void {
    if (blocks.length === 0) return;
    const out = Buffer.allocUnsafe(REQUEST_FRAME_LENGTH * blocks.length);
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      writeBlockFrame(out, i * REQUEST_FRAME_LENGTH, MessageId.request, b.piece, b.begin, b.length);
    }
    this.#write(out, K[MessageId.request], blocks.length);
  }

  cancel(piece: number, begin: number, length: number): void {
    this.#write(encodeBlockFrame(MessageId.cancel, piece, begin, length), K[MessageId.cancel]);
  }

  reject(piece: number, begin: number, length: number): void {
    this.#write(encodeBlockFrame(MessageId.reject, piece, begin, length), K[MessageId.reject]);
  }

  /** A piece message: a slab-carved header and the block itself, no copy of the block. */
  piece(index: number, begin: number, block: Uint8Array): void {
    if (!this.writable) return;
    const header = this.#slab.take(PIECE_HEADER_LENGTH);
    writePieceHeader(header, 0, index, begin, block.length);
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    this.#socket.write(header);
    this.#socket.write(block);
    this.#stats.recordOut(K[MessageId.piece], PIECE_HEADER_LENGTH + block.length);
    this.lastWriteAt = Date.now();
  }

  /** An extended message (BEP 10); `kind` is the accounting kind of the extension. */
  extended(extendedId: number, payload: Uint8Array, kind: number): void {
    this.#write(encodeExtended(extendedId, payload), extendedId === 0 ? EXTENDED_HANDSHAKE_KIND : kind);
  }

  /** Resolves once the socket's buffer drained (or it closed). */
  drained(): Promise<void> {
    if (!this.congested || !this.writable) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.once('drain', done);
      this.#socket.once('close', done);
    });
  }
}
