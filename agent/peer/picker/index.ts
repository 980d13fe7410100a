import { SeedstreamError } from '../errors.js';
import type { PlaybackView } from '../playback/playback-view.js';
import type { Random } from '../random.js';
import { BassPicker } from './bass.js';
import { BitosPicker } from './bitos.js';
import { DeadlinePicker } from './deadline.js';
import type { PickerPeer, PiecePicker } from './piece-picker.js';
import type { PieceTable } from './piece-table.js';
import { RarestFirstPicker } from './rarest-first.js';
import { SequentialPicker } from './sequential.js';

export type { BlockRef, PickerPeer, PickOptions, PiecePicker } from './piece-picker.js';
export { PieceDownload, PieceTable } from './piece-table.js';
export { RarestFirstPicker } from './rarest-first.js';

export class UnknownStrategyError extends SeedstreamError {
  constructor(name: string, known: readonly string[]) {
    super('ERR_UNKNOWN_STRATEGY', `unknown piece-selection strategy "${name}" (known: ${known.join(', ')})`);
  }
}

/** Everything a strategy may be built from. `options` come from the experiment. */
export interface PickerContext {
  readonly table: PieceTable;
  readonly random: Random;
  readonly options?: Readonly<Record<string, unknown>>;
  /** The player this download feeds, for streaming strategies. */
  readonly playback?: PlaybackView;
  /** Every connected peer we could download from (to route urgent pieces to the fastest). */
  readonly peers?: () => readonly PickerPeer[];
}

type PickerFactory = (ctx: PickerContext) => PiecePicker;

const STRATEGIES = new Map<string, PickerFactory>([
  ['rarest-first', (ctx) => new RarestFirstPicker(ctx)],
  ['sequential', (ctx) => new SequentialPicker(ctx)],
  ['bitos', (ctx) => new BitosPicker(ctx)],
  ['deadline', (ctx) => new DeadlinePicker(ctx)],
  ['bass', (ctx) => new BassPicker(ctx)],
]);

/** Names of every piece-selection strategy, for CLI help and experiment validation. */
export function strategyNames(): string[] {
  return [...STRATEGIES.keys()];
}

export function createPicker(name: string, ctx: PickerContext): PiecePicker {
  const factory = STRATEGIES.get(name);
  if (factory === undefined) throw new UnknownStrategyError(name, strategyNames());
  return factory(ctx);
}
