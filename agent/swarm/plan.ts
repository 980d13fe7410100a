import { type ChokerName, chokerNames } from '../peer/choker/index.js';
import { strategyNames } from '../peer/picker/index.js';
import { Random, type Seed } from '../peer/random.js';
import type { QosRequirement } from '../peer/wire/extensions/qos.js';
import { type ArrivalSpec, arrivalTimes } from './arrivals.js';
import { SwarmInitError } from './errors.js';

/** One peer's access link (see ShapedLink); nothing set: the peer is not shaped. */
export interface LinkSpec {
  /** bytes/s */
  readonly uploadBytesPerSecond?: number;
  /** bytes/s */
  readonly downloadBytesPerSecond?: number;
  /** One-way delay added in each direction. */
  readonly delayMs?: number;
  readonly jitterMs?: number;
}

/** Generated content with a CBR streaming section; the duration follows from size and bitrate. */
export interface ContentSpec {
  readonly sizeBytes: number;
  /** Stream bitrate in bits/s. */
  readonly bitrateBps: number;
  /** Default: defaultPieceLength(sizeBytes). */
  readonly pieceLengthBytes?: number;
  readonly name?: string;
}

/** A strategy a leecher may be given; with several, each leecher draws one by weight. */
export interface StrategyChoice {
  readonly name: string;
  readonly options?: Readonly<Record<string, unknown>>;
  /** Relative weight in the draw; default 1. */
  readonly weight?: number;
}

export interface LeecherSpec {
  readonly link?: LinkSpec;
  /** A strategy name (default `rarest-first`) or a weighted mix drawn per leecher from the seed. */
  readonly strategy?: string | readonly StrategyChoice[];
  /** Options of a strategy given by name. */
  readonly strategyOptions?: Readonly<Record<string, unknown>>;
  readonly choker?: ChokerName;
  readonly uploadSlots?: number;
  /** Pieces the leecher may hold at once (a set-top box); default: the whole content. */
  readonly cachePieces?: number;
  /** Media the player buffers before it starts. */
  readonly startupBufferMs?: number;
  /** Speak the range messages (ss_range) with peers that do; default true. */
  readonly rangeMessages?: boolean;
  /** The paper's `require`, declared to peers (ss_qos). */
  readonly require?: QosRequirement;
}

export interface SeederSpec {
  readonly link?: LinkSpec;
  readonly choker?: ChokerName;
  readonly uploadSlots?: number;
  /** Default true. */
  readonly rangeMessages?: boolean;
}

/**
 * BASS's media server: a plain HTTP server (BEP 19 layout, byte ranges) serving the content from
 * the seeder's storage, streamed from by every leecher whose strategy is `bass`.
 */
export interface MediaServerSpec {
  /** The server's upload limit over all its responses, bytes/s; default unlimited. */
  readonly uploadBytesPerSecond?: number;
  /** Burst of that limit, bytes; default a tenth of a second's worth. */
  readonly uploadBurstBytes?: number;
  /** Responses in progress at once; default: enough for every bass leecher's `maxInFlight`. */
  readonly maxConcurrent?: number;
  /** K: pieces each bass leecher fetches from the server at once; default the web seed's. */
  readonly maxInFlight?: number;
}

export interface SwarmInit {
  /** Seeds the content, the arrivals, the strategy draws and every peer's own seed. */
  readonly seed: Seed;
  readonly content: ContentSpec;
  readonly seeder?: SeederSpec;
  readonly leechers: LeecherSpec & {
    readonly count: number;
    readonly arrivals: ArrivalSpec;
  };
  /**
   * Start a media server (see MediaServerSpec). Started anyway, with the defaults, when some
   * leecher's strategy is `bass`; leechers with another strategy never use it.
   */
  readonly mediaServer?: MediaServerSpec;
  /** Announce to this tracker; without it every leecher is given the others' addresses. */
  readonly trackerUrl?: string;
  /** The run stops here even if players are still playing. */
  readonly timeoutMs: number;
}

/** What a leecher will be, decided before anything runs. */
export interface PlannedLeecher {
  readonly index: number;
  readonly name: string;
  /** The peer's own seed (picker, choker, peer id, link jitter). */
  readonly seed: string;
  /** ms after the swarm started. */
  readonly arrivalMs: number;
  readonly strategy: string;
  readonly strategyOptions?: Readonly<Record<string, unknown>>;
  readonly choker: ChokerName;
  readonly uploadSlots?: number;
  readonly link: LinkSpec;
  readonly cachePieces?: number;
  readonly startupBufferMs?: number;
  readonly rangeMessages?: boolean;
  readonly require?: QosRequirement;
}

export interface SwarmPlan {
  readonly seed: Seed;
  /** Seeds the content bytes. */
  readonly contentSeed: string;
  readonly seeder: { readonly name: string; readonly seed: string } & Required<Pick<SeederSpec, 'choker'>> &
    Omit<SeederSpec, 'choker'>;
  readonly leechers: readonly PlannedLeecher[];
  /** Present when the swarm runs a media server. */
  readonly mediaServer?: MediaServerSpec;
}

export const MAX_LEECHERS = 1_000;

function checkLink(where: string, link: LinkSpec | undefined): LinkSpec {
  if (link === undefined) return {};
  for (const key of ['uploadBytesPerSecond', 'downloadBytesPerSecond'] as const) {
    const v = link[key];
    if (v !== undefined && !(v > 0))
      throw new SwarmInitError(`${where}.${key}`, `${v} is not a positive rate`);
  }
  for (const key of ['delayMs', 'jitterMs'] as const) {
    const v = link[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0))
      throw new SwarmInitError(`${where}.${key}`, `${v} is not a time >= 0 ms`);
  }
  return link;
}

function checkMediaServer(spec: MediaServerSpec | undefined): MediaServerSpec | undefined {
  if (spec === undefined) return undefined;
  for (const key of ['uploadBytesPerSecond', 'uploadBurstBytes'] as const) {
    const v = spec[key];
    if (v !== undefined && !(Number.isFinite(v) && v > 0))
      throw new SwarmInitError(`mediaServer.${key}`, `${v} is not a positive number of bytes`);
  }
  for (const key of ['maxConcurrent', 'maxInFlight'] as const) {
    const v = spec[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1))
      throw new SwarmInitError(`mediaServer.${key}`, `${v} is not a positive integer`);
  }
  return spec;
}

function checkChoker(where: string, name: string | undefined): ChokerName {
  const choker = name ?? 'tit-for-tat';
  if (!(chokerNames() as string[]).includes(choker)) {
    throw new SwarmInitError(where, `unknown choker "${choker}" (known: ${chokerNames().join(', ')})`);
  }
  return choker as ChokerName;
}

function checkStrategy(where: string, name: string): void {
  if (!strategyNames().includes(name)) {
    throw new SwarmInitError(where, `unknown strategy "${name}" (known: ${strategyNames().join(', ')})`);
  }
}

function drawStrategy(
  spec: LeecherSpec['strategy'],
  options: LeecherSpec['strategyOptions'],
  random: Random,
): { name: string; options?: Readonly<Record<string, unknown>> } {
  if (spec === undefined || typeof spec === 'string') return { name: spec ?? 'rarest-first', options };
  const total = spec.reduce((sum, c) => sum + (c.weight ?? 1), 0);
  let ticket = random.next() * total;
  for (const choice of spec) {
    ticket -= choice.weight ?? 1;
    if (ticket < 0) return { name: choice.name, options: choice.options };
  }
  const last = spec[spec.length - 1];
  return { name: last.name, options: last.options };
}

/**
 * Decides everything random about a swarm from its seed: arrival times, each leecher's strategy
 * and its own seed. The same init gives the same plan; running it is `Swarm`'s job.
 */
export function planSwarm(init: SwarmInit): SwarmPlan {
  const { leechers } = init;
  if (!Number.isSafeInteger(leechers.count) || leechers.count < 0 || leechers.count > MAX_LEECHERS) {
    throw new SwarmInitError('leechers.count', `${leechers.count} is not an integer in 0..${MAX_LEECHERS}`);
  }
  if (!(Number.isFinite(init.timeoutMs) && init.timeoutMs > 0)) {
    throw new SwarmInitError('timeoutMs', `${init.timeoutMs} is not a positive time`);
  }
  const c = init.content;
  if (!Number.isSafeInteger(c.sizeBytes) || c.sizeBytes <= 0) {
    throw new SwarmInitError('content.sizeBytes', `${c.sizeBytes} is not a positive integer`);
  }
  if (!Number.isSafeInteger(c.bitrateBps) || c.bitrateBps <= 0) {
    throw new SwarmInitError('content.bitrateBps', `${c.bitrateBps} is not a positive integer (bits/s)`);
  }
  if (init.trackerUrl !== undefined && !URL.canParse(init.trackerUrl)) {
    throw new SwarmInitError('trackerUrl', `${JSON.stringify(init.trackerUrl)} is not a URL`);
  }
  const strategy = leechers.strategy;
  if (typeof strategy === 'string') checkStrategy('leechers.strategy', strategy);
  else if (strategy !== undefined) {
    if (strategy.length === 0) throw new SwarmInitError('leechers.strategy', 'an empty mix');
    for (const [i, choice] of strategy.entries()) {
      checkStrategy(`leechers.strategy[${i}].name`, choice.name);
      const w = choice.weight ?? 1;
      if (!(Number.isFinite(w) && w > 0))
        throw new SwarmInitError(`leechers.strategy[${i}].weight`, `${w} is not a positive weight`);
    }
  }
  if (
    leechers.cachePieces !== undefined &&
    !(Number.isSafeInteger(leechers.cachePieces) && leechers.cachePieces >= 1)
  ) {
    throw new SwarmInitError('leechers.cachePieces', `${leechers.cachePieces} is not a positive integer`);
  }
  const link = checkLink('leechers.link', leechers.link);
  const seederLink = checkLink('seeder.link', init.seeder?.link);
  const choker = checkChoker('leechers.choker', leechers.choker);
  const seederChoker = checkChoker('seeder.choker', init.seeder?.choker);
  const mediaServer = checkMediaServer(init.mediaServer);

  const random = new Random(init.seed);
  const arrivals = arrivalTimes(leechers.arrivals, leechers.count, random.fork('arrivals'));
  const strategies = random.fork('strategies');
  const planned: PlannedLeecher[] = arrivals.map((arrivalMs, index) => {
    const drawn = drawStrategy(strategy, leechers.strategyOptions, strategies);
    return {
      index,
      name: `leecher-${index}`,
      seed: `${String(init.seed)}/leecher-${index}`,
      arrivalMs,
      strategy: drawn.name,
      strategyOptions: drawn.options,
      choker,
      uploadSlots: leechers.uploadSlots,
      link,
      cachePieces: leechers.cachePieces,
      startupBufferMs: leechers.startupBufferMs,
      rangeMessages: leechers.rangeMessages,
      require: leechers.require,
    };
  });
  return {
    seed: init.seed,
    contentSeed: `${String(init.seed)}/content`,
    seeder: {
      name: 'seeder',
      seed: `${String(init.seed)}/seeder`,
      choker: seederChoker,
      uploadSlots: init.seeder?.uploadSlots,
      rangeMessages: init.seeder?.rangeMessages,
      link: seederLink,
    },
    leechers: planned,
    ...(mediaServer !== undefined || planned.some((l) => l.strategy === 'bass')
      ? { mediaServer: mediaServer ?? {} }
      : {}),
  };
}
