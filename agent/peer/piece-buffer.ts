/**
 * A buffer for assembling a piece: backed by shared memory, so a worker hasher reads it in place
 * (posting a SharedArrayBuffer shares it; no copy, no transfer, no detach).
 */
export function allocPieceBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}
