import { Command } from 'commander';
import { SeedstreamError } from '../peer/errors.js';
import { formatBytes } from '../peer/units.js';
import { createCliLogger } from './cli-logger.js';
import { addPeerOptions, type PeerCommandOptions, runtimeInitFrom } from './cli-options.js';
import { emitEvent } from './events.js';
import { parsePeerAddress, startPeerRuntime, untilSignal } from './peer-runtime.js';

export class IncompleteContentError extends SeedstreamError {
  constructor(dir: string, valid: number, total: number) {
    super(
      'ERR_INCOMPLETE_CONTENT',
      `${dir}: only ${valid} of ${total} pieces are present and valid; cannot seed (use --partial to serve what is there)`,
    );
  }
}

interface SeedOptions extends PeerCommandOptions {
  partial: boolean;
}

/** `seedstream seed T.torrent --dir DIR --port PORT`: serves the content until stopped. */
export function seedCommand(): Command {
  const cmd = new Command('seed')
    .description('serve a torrent from a directory until stopped (SIGINT/SIGTERM)')
    .argument('<torrent>', '.torrent file')
    .requiredOption('--dir <dir>', 'directory holding the content')
    .option('--partial', 'serve even when only part of the content is present', false);
  return addPeerOptions(cmd, {
    port: 6881,
    storageHelp: 'serve from the files, or load the content into memory first',
    seedHelp: 'seed of random choices (choker)',
  }).action(async (torrentPath: string, opts: SeedOptions) => {
    const log = createCliLogger(opts.logLevel);
    const peers = opts.peer.map(parsePeerAddress);
    const rt = await startPeerRuntime(runtimeInitFrom(torrentPath, opts), log);
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
