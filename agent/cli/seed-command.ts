import { Command, Option } from 'commander';
import { SeedstreamError } from '../peer/errors.js';
import { formatBytes } from '../peer/units.js';
import { createCliLogger, type LogLevel } from './cli-logger.js';
import { emitEvent } from './events.js';
import { parsePeerAddress, startPeerRuntime, toUpstreamBytesPerSecond, untilSignal } from './peer-runtime.js';

export class IncompleteContentError extends SeedstreamError {
  constructor(dir: string, valid: number, total: number) {
    super(
      'ERR_INCOMPLETE_CONTENT',
      `${dir}: only ${valid} of ${total} pieces are present and valid; cannot seed (use --partial to serve what is there)`,
    );
  }
}

interface SeedOptions {
  dir: string;
  port: number;
  host: string;
  announce: boolean;
  tracker: string[];
  peer: string[];
  partial: boolean;
  storage: 'file' | 'memory';
  seed: number;
  json: boolean;
  logLevel: LogLevel;
  upstream?: number;
}

/** `seedstream seed T.torrent --dir DIR --port PORT`: serves the content until stopped. */
export function seedCommand(): Command {
  return new Command('seed')
    .description('serve a torrent from a directory until stopped (SIGINT/SIGTERM)')
    .argument('<torrent>', '.torrent file')
    .requiredOption('--dir <dir>', 'directory holding the content')
    .option('--port <port>', 'port to listen on (0: any free port)', toPort, 6881)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--no-announce', 'do not contact the trackers')
    .option('--tracker <url>', 'an extra tracker to announce to (repeatable)', collect, [])
    .option('--peer <host:port>', 'a peer to connect to (repeatable)', collect, [])
    .addOption(
      new Option('--storage <kind>', 'serve from the files, or load the content into memory first')
        .choices(['file', 'memory'])
        .default('file'),
    )
    .option('--partial', 'serve even when only part of the content is present', false)
    .option('--seed <n>', 'seed of random choices (choker)', toInt, 1)
    .option(
      '--upstream <rate>',
      'our upstream capacity (e.g. 20Mbps), reported to trackers',
      toUpstreamBytesPerSecond,
    )
    .option('--json', 'print JSON-lines events on stdout', false)
    .addOption(new Option('--log-level <level>', 'stderr log level').choices(LOG_LEVELS).default('warn'))
    .action(async (torrentPath: string, opts: SeedOptions) => {
      const log = createCliLogger(opts.logLevel);
      const peers = opts.peer.map(parsePeerAddress);
      const rt = await startPeerRuntime(
        {
          torrentPath,
          dir: opts.dir,
          host: opts.host,
          port: opts.port,
          seed: opts.seed,
          announce: opts.announce,
          trackers: opts.tracker,
          upstreamBps: opts.upstream,
          storage: opts.storage,
        },
        log,
      );
      if (!opts.partial && !rt.torrent.complete) {
        await rt.stop();
        throw new IncompleteContentError(opts.dir, rt.resumed, rt.meta.pieceCount);
      }
      for (const p of peers) rt.torrent.addPeer(p.host, p.port);
      const info = { infoHash: rt.meta.infoHashHex, host: rt.listening.host, port: rt.listening.port };
      if (opts.json) emitEvent('listening', { ...info, pieces: rt.resumed, pieceCount: rt.meta.pieceCount });
      else
        process.stderr.write(
          `seeding ${rt.meta.name} (${formatBytes(rt.meta.length)}, ${rt.meta.infoHashHex}) on ${info.host}:${info.port}\n`,
        );
      const signal = await untilSignal();
      await rt.stop();
      if (opts.json)
        emitEvent('stopped', {
          signal,
          uploaded: rt.torrent.uploaded,
          protocolErrors: rt.torrent.protocolErrors,
          messages: rt.torrent.stats.snapshot(),
        });
    });
}

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
