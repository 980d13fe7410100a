import type { PieceTable } from '../picker/piece-table.js';

/** What a web seed policy sees of the download. */
export interface WebSeedPolicyView {
  readonly table: PieceTable;
  /** The source cannot take `index` now: it is fetching it, verifying it, or gave up on it. */
  excluded(index: number): boolean;
}

/**
 * Which pieces a web seed fetches, and how many at once. One file per policy:
 * `all-pieces-policy.ts` (plain BEP 19), `sequential-window-policy.ts` (BASS).
 */
export interface WebSeedPolicy {
  readonly name: string;
  /** Most fetches in flight at once. */
  readonly maxInFlight: number;
  /** Up to `max` pieces to fetch next, most wanted first (each passes `isFetchable`). */
  next(view: WebSeedPolicyView, max: number): number[];
  /** The source has failed `failures` times in a row; 0 after a piece it fetched verified. */
  onHealth?(failures: number): void;
  /** The source gave up on piece `index` after repeated failures: someone else must fetch it. */
  onAbandon?(index: number): void;
}

/**
 * A piece a web seed may take: needed, and no block of it requested from anyone (a piece peers
 * are downloading stays theirs; one they dropped half-way is taken over).
 */
export function isFetchable(table: PieceTable, index: number): boolean {
  if (!table.needs(index)) return false;
  const dl = table.downloads.get(index);
  return dl === undefined || (dl.free > 0 && dl.free + dl.received === dl.blockCount);
}

/** Checks a policy's `maxInFlight`; returns it. */
export function checkMaxInFlight(value: number, fail: (message: string) => Error): number {
  if (!Number.isInteger(value) || value < 1)
    throw fail(`maxInFlight must be a positive integer, got ${value}`);
  return value;
}
