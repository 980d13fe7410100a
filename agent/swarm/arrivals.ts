import type { Random } from '../peer/random.js';
import { SwarmInitError } from './errors.js';

/**
 * When leechers join, in ms from the start of the swarm.
 * - `explicit`: the given times (one per leecher);
 * - `all-at-once`: every leecher at `atMs` (default 0);
 * - `uniform`: independent uniform draws over [0, windowMs), sorted;
 * - `poisson`: a Poisson process of `ratePerSecond` arrivals a second starting at 0 (exponential gaps).
 */
export type ArrivalSpec =
  | { readonly kind: 'explicit'; readonly atMs: readonly number[] }
  | { readonly kind: 'all-at-once'; readonly atMs?: number }
  | { readonly kind: 'uniform'; readonly windowMs: number }
  | { readonly kind: 'poisson'; readonly ratePerSecond: number };

function checkTime(where: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0))
    throw new SwarmInitError(where, `${value} is not a time >= 0 ms`);
}

/** Arrival times (ms, non-decreasing) of `count` leechers; every draw comes from `random`. */
export function arrivalTimes(spec: ArrivalSpec, count: number, random: Random): number[] {
  const where = 'leechers.arrivals';
  switch (spec.kind) {
    case 'explicit': {
      if (spec.atMs.length !== count) {
        throw new SwarmInitError(`${where}.atMs`, `has ${spec.atMs.length} times for ${count} leechers`);
      }
      for (const [i, at] of spec.atMs.entries()) checkTime(`${where}.atMs[${i}]`, at);
      return [...spec.atMs].sort((a, b) => a - b);
    }
    case 'all-at-once': {
      const at = spec.atMs ?? 0;
      checkTime(`${where}.atMs`, at);
      return new Array<number>(count).fill(at);
    }
    case 'uniform': {
      checkTime(`${where}.windowMs`, spec.windowMs);
      return Array.from({ length: count }, () => Math.floor(random.next() * spec.windowMs)).sort(
        (a, b) => a - b,
      );
    }
    case 'poisson': {
      const rate = spec.ratePerSecond;
      if (!(Number.isFinite(rate) && rate > 0)) {
        throw new SwarmInitError(`${where}.ratePerSecond`, `${rate} is not a positive rate`);
      }
      const out: number[] = [];
      let at = 0;
      for (let i = 0; i < count; i++) {
        out.push(Math.round(at));
        // Inverse transform; 1 - next() is in (0, 1], so the logarithm is finite.
        at += (-Math.log(1 - random.next()) / rate) * 1000;
      }
      return out;
    }
    default:
      throw new SwarmInitError(
        `${where}.kind`,
        `unknown arrival kind ${JSON.stringify((spec as { kind: unknown }).kind)}`,
      );
  }
}
