import { Command, Option } from 'commander';
import { SeedstreamError } from '../peer/errors.js';
import { strategyNames } from '../peer/picker/index.js';
import { verifyStorage } from '../peer/storage/index.js';
import { formatBytes } from '../peer/units.js';
import { createCliLogger } from './cli-logger.js';
import { addPeerOptions, type PeerCommandOptions, runtimeInitFrom, toInt } from './cli-options.js';
import { emitEvent } from './events.js';
import { parsePeerAddress, startPeerRuntime, untilSignal } from './peer-runtime.js';

export class DownloadTimeoutError extends SeedstreamError {
  constructor(seconds: number, have: number, total: number, peers: number) {
    super(
      'ERR_DOWNLOAD_TIMEOUT',
      `timed out after ${seconds} s with ${have} of ${total} pieces, connected to ${peers} peer(s)`,
    );
  }
}

export class VerificationError extends SeedstreamError {
  constructor(dir: string, valid: number, total: number) {
    super(
      'ERR_VERIFICATION_FAILED',
      `${dir}: after download only ${valid} of ${total} pieces verify on disk`,
    );
  }
}

interface GetOptions extends PeerCommandOptions {
  strategy: string;
  timeout: number;
  seedAfter: boolean;
  recheck: boolean;
}

/** `seedstream get T.torrent --dir DIR`: downloads, verifies, exits 0; non-zero with the cause otherwise. */
export function getCommand(): Command {
  const cmd = new Command('get')
    .description('download a torrent into a directory; exits 0 once the content is complete and verified')
    .argument('<torrent>', '.torrent file')
    .requiredOption('--dir <dir>', 'directory to download into (existing data is verified and resumed)')
    .addOption(
      new Option('--strategy <name>', 'piece-selection strategy')
        .choices(strategyNames())
        .default('rarest-first'),
    )
    .option('--timeout <seconds>', 'give up after this long', toInt, 600)
    .option('--recheck', 'after completion, read every piece back from disk and verify it again', false)
    .option('--seed-after', 'keep seeding after completion until stopped', false);
  return addPeerOptions(cmd, {
    port: 0,
    storageHelp: 'where downloaded pieces go (memory: verified in RAM, nothing written)',
    seedHelp: 'seed of random choices (picker, choker)',
  }).action(async (torrentPath: string, opts: GetOptions) => {
    const log = createCliLogger(opts.logLevel);
    const peers = opts.peer.map(parsePeerAddress);
    const startedAt = Date.now();
    const rt = await startPeerRuntime(runtimeInitFrom(torrentPath, opts, { strategy: opts.strategy }), log);
    const { torrent, meta } = rt;
    try {
      if (opts.json) {
        emitEvent('listening', {
          infoHash: meta.infoHashHex,
          host: rt.listening.host,
          port: rt.listening.port,
          pieces: rt.resumed,
          pieceCount: meta.pieceCount,
        });
      }
      for (const p of peers) torrent.addPeer(p.host, p.port);
      const progress = setInterval(() => {
        const fields = {
          pieces: torrent.stored.count,
          pieceCount: meta.pieceCount,
          peers: torrent.peers.length,
        };
        if (opts.json) emitEvent('progress', { ...fields, downloaded: torrent.downloaded });
      }, 1_000);
      progress.unref();
      const timeout = AbortSignal.timeout(opts.timeout * 1000);
      try {
        await torrent.whenComplete(timeout);
      } catch (err) {
        if (timeout.aborted) {
          throw new DownloadTimeoutError(
            opts.timeout,
            torrent.stored.count,
            meta.pieceCount,
            torrent.peers.length,
          );
        }
        throw err;
      } finally {
        clearInterval(progress);
      }
      // Every piece was verified (SHA-1) as it arrived; --recheck also reads the files back.
      if (opts.recheck && opts.storage === 'file') {
        const valid = await verifyStorage(rt.storage);
        if (!valid.complete) throw new VerificationError(opts.dir, valid.count, meta.pieceCount);
      }
      const summary = {
        infoHash: meta.infoHashHex,
        bytes: meta.length,
        downloaded: torrent.downloaded,
        elapsedMs: Date.now() - startedAt,
        transferMs:
          torrent.firstPayloadAt && torrent.completedAt ? torrent.completedAt - torrent.firstPayloadAt : 0,
        wastedBytes: torrent.wastedBytes,
        protocolErrors: torrent.protocolErrors,
        hashFailures: torrent.hashFailures,
        messages: torrent.stats.snapshot(),
      };
      if (opts.json) emitEvent('complete', summary);
      else
        process.stderr.write(
          `complete: ${meta.name} (${formatBytes(meta.length)}) verified in ${opts.dir}\n`,
        );
      if (opts.seedAfter) await untilSignal();
    } finally {
      await rt.stop();
    }
  });
}
