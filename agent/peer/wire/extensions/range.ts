import { SeedstreamError } from '../../errors.js';
import { ProtocolError } from '../errors.js';
import type { ExtensionPeer, WireExtension } from './wire-extension.js';

/**
 * The paper's range messages as one BEP 10 extension, `ss_range` (see EXTENSIONS.md). One name
 * with a sub-type byte rather than three names: the three messages are one capability (a peer
 * either speaks piece ranges or not), so one negotiation and one of the 255 extended ids suffice,
 * and the accounting has a single `ext:ss_range` kind to compare against have + request bytes.
 */
export const SS_RANGE = 'ss_range';

/** Sub-type byte, the first byte of every `ss_range` payload. */
export const RangeSubtype = {
  have: 0,
  nohave: 1,
  request: 2,
} as const;
export type RangeKind = keyof typeof RangeSubtype;

const KIND_BY_SUBTYPE: readonly (RangeKind | undefined)[] = ['have', 'nohave', 'request'];

/** Sub-type, first piece (uint32), count (uint32). */
export const RANGE_PAYLOAD_LENGTH = 1 + 4 + 4;
/** Whole frame on the wire: length prefix, id 20, extended id, payload. */
export const RANGE_FRAME_LENGTH = 4 + 1 + 1 + RANGE_PAYLOAD_LENGTH;
/** A BEP 3 have frame, to decide whether a single piece goes as a have or as a range of one. */
export const HAVE_FRAME_LENGTH = 9;

export interface RangeMessage {
  readonly kind: RangeKind;
  readonly first: number;
  readonly count: number;
}

/** A run of consecutive pieces. */
export interface PieceRun {
  readonly first: number;
  readonly count: number;
}

/** A received `ss_range` message that is malformed or names pieces outside the torrent. */
export class MalformedRangeError extends ProtocolError {
  constructor(message: string) {
    super('ERR_BAD_RANGE', `ss_range: ${message}`);
  }
}

/** We were asked to encode a range no receiver could accept (a bug of the caller). */
export class InvalidRangeError extends SeedstreamError {
  constructor(first: number, count: number) {
    super('ERR_RANGE_INVALID', `cannot encode the piece range first=${first} count=${count}`);
  }
}

const UINT32_MAX = 0xffff_ffff;

/** The payload of a range message (to send with the remote's extended id for `ss_range`). */
export function encodeRange(kind: RangeKind, first: number, count: number): Buffer {
  if (
    !Number.isInteger(first) ||
    !Number.isInteger(count) ||
    first < 0 ||
    count < 1 ||
    first + count - 1 > UINT32_MAX
  ) {
    throw new InvalidRangeError(first, count);
  }
  const payload = Buffer.allocUnsafe(RANGE_PAYLOAD_LENGTH);
  payload[0] = RangeSubtype[kind];
  payload.writeUInt32BE(first, 1);
  payload.writeUInt32BE(count, 5);
  return payload;
}

/**
 * Decodes and validates a range payload against a torrent of `pieceCount` pieces: count > 0 and
 * first + count <= pieceCount. Returns undefined for a sub-type this version does not know
 * (ignored, like an unknown extended id, so the extension can grow). Throws MalformedRangeError.
 */
export function decodeRange(payload: Uint8Array, pieceCount: number): RangeMessage | undefined {
  if (payload.length === 0) throw new MalformedRangeError('empty payload (no sub-type)');
  const kind = KIND_BY_SUBTYPE[payload[0]];
  if (kind === undefined) return undefined;
  if (payload.length !== RANGE_PAYLOAD_LENGTH) {
    throw new MalformedRangeError(
      `range ${kind} of ${payload.length} bytes, expected ${RANGE_PAYLOAD_LENGTH} (sub-type, first, count)`,
    );
  }
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  const first = view.readUInt32BE(1);
  const count = view.readUInt32BE(5);
  if (count === 0) throw new MalformedRangeError(`range ${kind} of zero pieces at ${first}`);
  // Subtraction, not first + count: both are uint32 and their sum is compared without overflow either way.
  if (first >= pieceCount || count > pieceCount - first) {
    throw new MalformedRangeError(
      `range ${kind} of pieces ${first}+${count}, but the torrent has ${pieceCount} pieces`,
    );
  }
  return { kind, first, count };
}

/**
 * Runs of `sorted` (ascending, distinct piece indices). Two neighbours are merged when every
 * piece between them satisfies `bridge`: a range may re-announce pieces the receiver knows
 * already, and one 15-byte range is cheaper than two messages.
 */
export function pieceRuns(sorted: readonly number[], bridge?: (piece: number) => boolean): PieceRun[] {
  const runs: PieceRun[] = [];
  let i = 0;
  // Each iteration consumes at least one index.
  while (i < sorted.length) {
    const first = sorted[i];
    let last = first;
    i++;
    while (i < sorted.length && canJoin(last, sorted[i], bridge)) {
      last = sorted[i];
      i++;
    }
    runs.push({ first, count: last - first + 1 });
  }
  return runs;
}

function canJoin(last: number, next: number, bridge: ((piece: number) => boolean) | undefined): boolean {
  if (next === last + 1) return true;
  if (bridge === undefined) return false;
  for (let p = last + 1; p < next; p++) if (!bridge(p)) return false;
  return true;
}

/** What the torrent does with a valid range message. */
export interface RangeHandler {
  onRangeHave(peer: ExtensionPeer, first: number, count: number): void;
  onRangeNoHave(peer: ExtensionPeer, first: number, count: number): void;
  onRangeRequest(peer: ExtensionPeer, first: number, count: number): void;
}

/** Receive side of `ss_range`: decodes, validates and dispatches to the torrent. */
export class RangeExtension implements WireExtension {
  readonly name = SS_RANGE;
  readonly #pieceCount: number;
  readonly #handler: RangeHandler;

  constructor(pieceCount: number, handler: RangeHandler) {
    this.#pieceCount = pieceCount;
    this.#handler = handler;
  }

  onMessage(peer: ExtensionPeer, payload: Buffer): void {
    const msg = decodeRange(payload, this.#pieceCount);
    if (msg === undefined) return;
    switch (msg.kind) {
      case 'have':
        this.#handler.onRangeHave(peer, msg.first, msg.count);
        return;
      case 'nohave':
        this.#handler.onRangeNoHave(peer, msg.first, msg.count);
        return;
      case 'request':
        this.#handler.onRangeRequest(peer, msg.first, msg.count);
        return;
    }
  }
}
