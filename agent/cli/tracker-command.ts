import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import type { Logger } from '../peer/logger.js';
import type { Seed } from '../peer/random.js';
import type { PeerSelector } from '../tracker/peer-selector.js';
import { QOS_DEFAULTS, QosSelector } from '../tracker/selectors/qos-selector.js';
import { RandomSelector } from '../tracker/selectors/random-selector.js';
import { TRACKER_DEFAULTS } from '../tracker/tracker.js';
import { TrackerServer } from '../tracker/tracker-server.js';
import { UdpTrackerServer } from '../tracker/udp-tracker-server.js';

/** `seedstream tracker` flags after parsing. */
export interface TrackerCommandOptions {
  readonly host: string;
  readonly port: number;
  readonly interval: number;
  readonly minInterval?: number;
  readonly peerTtl?: number;
  readonly maxNumwant: number;
  readonly defaultNumwant: number;
  readonly policy: 'random' | 'qos';
  readonly randomShare: number;
  readonly seed: string;
  readonly closed?: boolean;
  readonly allow: string[];
  readonly ipParam: boolean;
  readonly udpPort?: number;
  readonly logLevel: string;
}

export interface TrackerCommandIo {
  /** Where the one-line JSON events go (default: process.stdout). */
  readonly stdout?: (text: string) => void;
  /** Logger for the server (default: pino on stderr at `--log-level`). */
  readonly logger?: Logger;
  /** Resolves when the tracker should stop (default: the first SIGINT or SIGTERM). */
  readonly stopWhen?: () => Promise<unknown>;
}

function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return Number(text);
  };
}

function share(text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !(v >= 0 && v <= 1))
    throw new InvalidArgumentError('expected a number from 0 to 1');
  return v;
}

function infoHash(text: string, previous: string[]): string[] {
  if (!/^[0-9a-fA-F]{40}$/.test(text)) throw new InvalidArgumentError('expected a 40-digit hex infohash');
  return [...previous, text.toLowerCase()];
}

function seedOf(text: string): Seed {
  return /^[0-9]{1,15}$/.test(text) ? Number(text) : text;
}

function firstSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Builds the selector a `--policy` names. */
export function selectorFor(
  opts: Pick<TrackerCommandOptions, 'policy' | 'seed' | 'randomShare' | 'interval'>,
): PeerSelector {
  const seed = seedOf(opts.seed);
  return opts.policy === 'qos'
    ? new QosSelector({ seed, randomShare: opts.randomShare, loadHalfLifeSec: Math.max(1, opts.interval) })
    : new RandomSelector({ seed });
}

/**
 * `seedstream tracker`: runs the HTTP tracker (and with `--udp-port` the UDP one, sharing its
 * swarms) until SIGINT/SIGTERM. Prints `{"event":"listening","host":...,"port":...}` once it
 * accepts announces, and
 * `{"event":"stopped",...}` after a clean stop; logs go to stderr.
 */
export function trackerCommand(io: TrackerCommandIo = {}): Command {
  const out = io.stdout ?? ((text: string) => void process.stdout.write(text));
  return new Command('tracker')
    .description('run the HTTP tracker (BEP 3/23/7/48 plus the bandwidth/delay extension)')
    .requiredOption('--port <n>', 'TCP port (0 picks a free one)', integer(0, 65_535))
    .option('--host <address>', 'address to bind (:: for IPv4 and IPv6)', '0.0.0.0')
    .option('--interval <seconds>', 'announce interval', integer(1, 86_400), TRACKER_DEFAULTS.intervalSec)
    .option(
      '--min-interval <seconds>',
      'minimum announce interval (default: min(15, interval))',
      integer(0, 86_400),
    )
    .option(
      '--peer-ttl <seconds>',
      'drop peers silent this long (default: 2.5 intervals)',
      integer(1, 864_000),
    )
    .option('--max-numwant <n>', 'cap on peers per reply', integer(0, 10_000), TRACKER_DEFAULTS.maxNumwant)
    .option(
      '--default-numwant <n>',
      'peers per reply without numwant',
      integer(0, 10_000),
      TRACKER_DEFAULTS.defaultNumwant,
    )
    .addOption(
      new Option('--policy <name>', 'peer selection policy').choices(['random', 'qos']).default('random'),
    )
    .option(
      '--random-share <fraction>',
      'qos: share of each reply chosen at random',
      share,
      QOS_DEFAULTS.randomShare,
    )
    .option('--seed <seed>', 'seed of the selector', '0')
    .option('--closed', 'refuse torrents not given with --allow')
    .option('--allow <infohash...>', 'infohash (hex) a closed tracker serves; repeatable', infoHash, [])
    .option('--no-ip-param', 'ignore the ip/ipv4/ipv6 announce parameters (use the source address)')
    .option(
      '--udp-port <n>',
      'also serve the UDP tracker protocol (BEP 15) on this port (0 = any)',
      integer(0, 65_535),
    )
    .option('--log-level <level>', 'pino log level on stderr', 'info')
    .action(async (opts: TrackerCommandOptions) => {
      const logger: Logger =
        io.logger ?? pino({ level: opts.logLevel, base: { role: 'tracker' } }, pino.destination(2));
      const server = new TrackerServer(
        {
          host: opts.host,
          port: opts.port,
          intervalSec: opts.interval,
          minIntervalSec: opts.minInterval,
          peerTtlSec: opts.peerTtl,
          maxNumwant: opts.maxNumwant,
          defaultNumwant: opts.defaultNumwant,
          open: opts.closed !== true,
          allowedInfoHashes: opts.allow,
          acceptIpParam: opts.ipParam,
        },
        { selector: selectorFor(opts), logger },
      );
      // Listen for signals before announcing readiness, so a stop sent right after is not lost.
      const stop = (io.stopWhen ?? firstSignal)();
      const udp =
        opts.udpPort === undefined
          ? undefined
          : new UdpTrackerServer(
              { host: opts.host, port: opts.udpPort, seed: seedOf(opts.seed) },
              { tracker: server.tracker, logger },
            );
      try {
        const { host, port } = await server.start();
        const udpPort = udp === undefined ? undefined : (await udp.start()).port;
        out(`${JSON.stringify({ event: 'listening', host, port, udpPort, policy: server.selector.name })}\n`);
        await stop;
      } finally {
        await server.stop();
        await udp?.stop();
      }
      out(`${JSON.stringify({ event: 'stopped', ...server.stats(), udp: udp?.stats() })}\n`);
    });
}
