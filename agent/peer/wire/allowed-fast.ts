import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

/** BEP 6 recommends 10 allowed-fast pieces. */
export const ALLOWED_FAST_COUNT = 10;

/**
 * The canonical allowed-fast set of BEP 6 for a peer at IPv4 address `ip`: both sides can compute
 * it, so a peer can check that what it is offered is what the spec says. IPv6 peers get none.
 */
export function allowedFastSet(
  ip: string,
  infoHash: Uint8Array,
  pieceCount: number,
  k = ALLOWED_FAST_COUNT,
): number[] {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (!isIPv4(v4) || pieceCount === 0) return [];
  const want = Math.min(k, pieceCount);
  const octets = v4.split('.').map(Number);
  let x: Buffer = Buffer.concat([Buffer.from([octets[0], octets[1], octets[2], 0]), infoHash]);
  const out: number[] = [];
  // Each round yields 5 candidates; with want <= pieceCount the set fills in a bounded number of rounds.
  for (let round = 0; out.length < want && round < 10_000; round++) {
    x = createHash('sha1').update(x).digest();
    for (let i = 0; i < 5 && out.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount;
      if (!out.includes(index)) out.push(index);
    }
  }
  return out;
}
