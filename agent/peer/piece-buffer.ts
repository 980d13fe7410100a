/**
 * A buffer for assembling a piece: backed by shared memory, so a worker hasher reads it in place
 * (posting a SharedArrayBuffer shares it; no copy, no transfer, no detach).
 */
export function allocPieceBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

/** Bytes of idle piece buffers a pool keeps for reuse. */
export const PIECE_POOL_MAX_BYTES = 64 * 1_048_576;

/**
 * Recycles piece buffers once storage no longer needs them (file storage has written them),
 * so a download does not allocate, zero and page-fault a fresh buffer for every piece.
 */
export class PieceBufferPool {
  readonly #free = new Map<number, Buffer[]>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes = PIECE_POOL_MAX_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Idle bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  take(size: number): Buffer {
    const buf = this.#free.get(size)?.pop();
    if (buf === undefined) return allocPieceBuffer(size);
    this.#bytes -= size;
    return buf;
  }

  /** Hands a buffer back; the caller must hold no reference to it any more. */
  give(buf: Buffer): void {
    if (!(buf.buffer instanceof SharedArrayBuffer) || this.#bytes + buf.length > this.#maxBytes) return;
    let list = this.#free.get(buf.length);
    if (list === undefined) this.#free.set(buf.length, (list = []));
    list.push(buf);
    this.#bytes += buf.length;
  }
}

/** The pool shared by every torrent of the process. */
export const defaultPieceBufferPool = new PieceBufferPool();
