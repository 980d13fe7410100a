import { SeedstreamError } from '../errors.js';
import type { Random } from '../random.js';
import type { Choker } from './choker.js';
import { QosChoker } from './qos.js';
import { TitForTatChoker } from './tit-for-tat.js';

export {
  type Choker,
  type ChokerPeer,
  OPTIMISTIC_UNCHOKE_INTERVAL_MS,
  RECHOKE_INTERVAL_MS,
  type RechokeContext,
  SNUB_TIMEOUT_MS,
} from './choker.js';
export { ChokerInitError } from './errors.js';
export { DEFAULT_LATENCY_SCALE_MS, fairShareMeets, QosChoker, type QosChokerInit } from './qos.js';
export {
  DEFAULT_UPLOAD_SLOTS,
  NEW_PEER_OPTIMISTIC_WEIGHT,
  TitForTatChoker,
  type TitForTatChokerInit,
} from './tit-for-tat.js';

export class UnknownChokerError extends SeedstreamError {
  constructor(name: string, known: readonly string[]) {
    super('ERR_UNKNOWN_CHOKER', `unknown choker "${name}" (known: ${known.join(', ')})`);
  }
}

/** Everything a choker may be built from. */
export interface ChokerContext {
  /** A fork dedicated to the choker. */
  readonly random: Random;
  readonly uploadSlots?: number;
  /** Our upstream capacity in bytes/s, when known. */
  readonly uploadCapacityBytesPerSecond?: number;
}

const CHOKERS = {
  'tit-for-tat': (ctx: ChokerContext): Choker =>
    new TitForTatChoker({ random: ctx.random, uploadSlots: ctx.uploadSlots }),
  qos: (ctx: ChokerContext): Choker =>
    new QosChoker({
      ...ctx,
      // TorrentInit.upstreamBps of 0 reports an unknown capacity to trackers; so it is here.
      uploadCapacityBytesPerSecond: ctx.uploadCapacityBytesPerSecond || undefined,
    }),
} as const;

export type ChokerName = keyof typeof CHOKERS;

/** Names of every choker, for CLI help and experiment validation. */
export function chokerNames(): ChokerName[] {
  return Object.keys(CHOKERS) as ChokerName[];
}

export function createChoker(name: string, ctx: ChokerContext): Choker {
  if (!Object.hasOwn(CHOKERS, name)) throw new UnknownChokerError(name, chokerNames());
  return CHOKERS[name as ChokerName](ctx);
}
