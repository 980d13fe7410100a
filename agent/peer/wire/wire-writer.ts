import type { Socket } from 'node:net';
import { KIND_BY_MESSAGE_ID, kindOf, type MessageStats } from '../accounting/message-stats.js';
import type { Link } from '../net/link.js';
import { UNLIMITED_LINK } from '../net/unlimited-link.js';
import type { BlockRef } from '../picker/piece-picker.js';
import { MessageId } from './constants.js';
import {
  CHOKE_FRAME,
  encodeAllowedFast,
  encodeBitfield,
  encodeExtended,
  encodeSuggest,
  HAVE_ALL_FRAME,
  HAVE_NONE_FRAME,
  INTERESTED_FRAME,
  KEEPALIVE_FRAME,
  NOT_INTERESTED_FRAME,
  PIECE_HEADER_LENGTH,
  REQUEST_FRAME_LENGTH,
  UNCHOKE_FRAME,
  writeBlockFrame,
  writeIndexFrame,
  writePieceHeader,
} from './encoder.js';

/** Above this many unsent bytes the socket counts as congested and serving pauses until drain. */
export const WRITE_HIGH_WATER_BYTES = 16 * 1_048_576;
/** Size of one output batch: frames are copied into it and written together. */
export const WRITE_BATCH_BYTES = 256 * 1_024;

/** Batches written and released by their sockets, reused so a fast sender allocates nothing per batch. */
const BATCH_POOL_MAX = 64;
const batchPool: Buffer[] = [];

function takeBatch(length: number): Buffer {
  if (length <= WRITE_BATCH_BYTES) return batchPool.pop() ?? Buffer.allocUnsafeSlow(WRITE_BATCH_BYTES);
  return Buffer.allocUnsafeSlow(length);
}

function releaseBatch(batch: Buffer): void {
  if (batch.length === WRITE_BATCH_BYTES && batchPool.length < BATCH_POOL_MAX) batchPool.push(batch);
}

const K = KIND_BY_MESSAGE_ID;
const EXTENDED_HANDSHAKE_KIND = kindOf('extended_handshake');
const KEEPALIVE_KIND = kindOf('keepalive');

/**
 * The sending half of a peer connection. Frames are copied into an output batch that is written
 * to the socket once per event-loop turn (or when full): a block costs a 16 KiB memcpy instead
 * of two stream writes, and a seed serving hundreds of blocks a turn makes one syscall. Constant
 * frames are shared and every message is accounted.
 */
export class WireWriter {
  readonly #socket: Socket;
  readonly #stats: MessageStats;
  readonly #link: Link;
  #batch: Buffer | undefined;
  #used = 0;
  #flushScheduled = false;
  lastWriteAt = 0;

  constructor(socket: Socket, stats: MessageStats, link: Link = UNLIMITED_LINK) {
    this.#socket = socket;
    this.#stats = stats;
    this.#link = link;
  }

  /**
   * Unsent bytes (socket buffer and our batch) exceed the high-water mark, or the link holds
   * too much for this socket (a shaped link queues what it has not let through yet).
   */
  get congested(): boolean {
    return (
      this.#socket.writableLength + this.#used > WRITE_HIGH_WATER_BYTES ||
      this.#link.congested(this.#socket, this.#used)
    );
  }

  get writable(): boolean {
    return !this.#socket.destroyed && this.#socket.writable;
  }

  /** Room for `length` bytes at the end of the batch; returns the offset to write at. */
  #reserve(length: number): number {
    if (this.#batch !== undefined && this.#used + length > this.#batch.length) this.flush();
    if (this.#batch === undefined) this.#batch = takeBatch(length);
    const at = this.#used;
    this.#used += length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // setImmediate, not nextTick: a serving loop awaiting already-resolved reads keeps filling
      // the batch through every microtask of this turn before it goes out.
      setImmediate(this.#onFlushTimer);
    }
    this.lastWriteAt = Date.now();
    return at;
  }

  readonly #onFlushTimer = (): void => {
    this.#flushScheduled = false;
    this.flush();
  };

  /** Writes the pending batch to the socket now. */
  flush(): void {
    const batch = this.#batch;
    if (batch === undefined || this.#used === 0) return;
    const used = this.#used;
    this.#batch = undefined;
    this.#used = 0;
    if (!this.writable) return;
    // The link calls back once the socket took the bytes: only then may the batch be reused.
    this.#link.send(this.#socket, batch.subarray(0, used), () => releaseBatch(batch));
  }

  #write(frame: Uint8Array, kind: number, count = 1): void {
    if (!this.writable) return;
    const at = this.#reserve(frame.length);
    this.#batch!.set(frame, at);
    this.#stats.recordOut(kind, frame.length, count);
  }

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
    if (!this.writable) return;
    const at = this.#reserve(9);
    writeIndexFrame(this.#batch!, at, MessageId.have, index);
    this.#stats.recordOut(K[MessageId.have], 9);
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

  /** Request frames written straight into the batch. */
  requests(blocks: readonly BlockRef[]): void {
    if (blocks.length === 0 || !this.writable) return;
    const at = this.#reserve(REQUEST_FRAME_LENGTH * blocks.length);
    const out = this.#batch!;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      writeBlockFrame(out, at + i * REQUEST_FRAME_LENGTH, MessageId.request, b.piece, b.begin, b.length);
    }
    this.#stats.recordOut(K[MessageId.request], REQUEST_FRAME_LENGTH * blocks.length, blocks.length);
  }

  cancel(piece: number, begin: number, length: number): void {
    this.#blockFrame(MessageId.cancel, piece, begin, length);
  }

  reject(piece: number, begin: number, length: number): void {
    this.#blockFrame(MessageId.reject, piece, begin, length);
  }

  #blockFrame(id: number, piece: number, begin: number, length: number): void {
    if (!this.writable) return;
    const at = this.#reserve(REQUEST_FRAME_LENGTH);
    writeBlockFrame(this.#batch!, at, id, piece, begin, length);
    this.#stats.recordOut(K[id], REQUEST_FRAME_LENGTH);
  }

  /** A piece message: header and block copied into the batch (one memcpy, no per-block write). */
  piece(index: number, begin: number, block: Uint8Array): void {
    if (!this.writable) return;
    const length = PIECE_HEADER_LENGTH + block.length;
    const at = this.#reserve(length);
    const out = this.#batch!;
    writePieceHeader(out, at, index, begin, block.length);
    out.set(block, at + PIECE_HEADER_LENGTH);
    this.#stats.recordOut(K[MessageId.piece], length);
  }

  /** An extended message (BEP 10); `kind` is the accounting kind of the extension. */
  extended(extendedId: number, payload: Uint8Array, kind: number): void {
    this.#write(encodeExtended(extendedId, payload), extendedId === 0 ? EXTENDED_HANDSHAKE_KIND : kind);
  }

  /** Flushes and resolves once the socket's buffer drained below the mark (or it closed). */
  drained(): Promise<void> {
    this.flush();
    if (!this.congested || !this.writable) return Promise.resolve();
    if (this.#link.congested(this.#socket)) return this.#link.drained(this.#socket);
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
