import { type Command, Option } from 'commander';
import { SeedstreamError } from '../peer/errors.js';
import type { LogLevel } from './cli-logger.js';
import { type PeerRuntimeInit, toUpstreamBytesPerSecond } from './peer-runtime.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'];

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function toInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n))
    throw new SeedstreamError('ERR_USAGE', `${JSON.stringify(value)} is not an integer`);
  return n;
}

export function toPort(value: string): number {
  const n = toInt(value);
  if (n < 0 || n > 65_535) throw new SeedstreamError('ERR_USAGE', `port ${n} is out of range 0-65535`);
  return n;
}

/** What `seed` and `get` share on the command line. */
export interface PeerCommandOptions {
  dir: string;
  port: number;
  host: string;
  announce: boolean;
  tracker: string[];
  peer: string[];
  storage: 'file' | 'memory';
  seed: number;
  json: boolean;
  logLevel: LogLevel;
  upstream?: number;
}

/** Adds the options `seed` and `get` share; `port`, and the help of `--storage` and `--seed`, differ. */
export function addPeerOptions(
  cmd: Command,
  defaults: { port: number; storageHelp: string; seedHelp: string },
): Command {
  return cmd
    .option('--port <port>', 'port to listen on (0: any free port)', toPort, defaults.port)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--no-announce', 'do not contact the trackers')
    .option('--tracker <url>', 'an extra tracker to announce to (repeatable)', collect, [])
    .option('--peer <host:port>', 'a peer to connect to (repeatable)', collect, [])
    .addOption(
      new Option('--storage <kind>', defaults.storageHelp).choices(['file', 'memory']).default('file'),
    )
    .option('--seed <n>', defaults.seedHelp, toInt, 1)
    .option(
      '--upstream <rate>',
      'our upstream capacity (e.g. 20Mbps), reported to trackers',
      toUpstreamBytesPerSecond,
    )
    .option('--json', 'print JSON-lines events on stdout', false)
    .addOption(new Option('--log-level <level>', 'stderr log level').choices(LOG_LEVELS).default('warn'));
}

/** The peer runtime's settings from the shared options. */
export function runtimeInitFrom(
  torrentPath: string,
  opts: PeerCommandOptions,
  extra: { strategy?: string } = {},
): PeerRuntimeInit {
  return {
    torrentPath,
    dir: opts.dir,
    host: opts.host,
    port: opts.port,
    seed: opts.seed,
    strategy: extra.strategy,
    announce: opts.announce,
    trackers: opts.tracker,
    upstreamBps: opts.upstream,
    storage: opts.storage,
  };
}
