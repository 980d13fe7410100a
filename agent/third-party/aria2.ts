import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Aria2RpcClient, type Aria2Status } from './aria2-rpc.js';
import {
  ProgramExitedError,
  ProgramNotRunningError,
  ProgramReportedError,
  ProgramStartError,
  RpcError,
} from './errors.js';
import { getFreePort } from './free-port.js';
import type { HttpEndpoint } from './http-client.js';
import { ManagedProcess } from './managed-process.js';
import { NetnsTcpRelay } from './netns-relay.js';
import { TempDir } from './temp-dir.js';
import { boundedSignal, pollUntil } from './wait.js';

const PROGRAM = 'aria2c';
const START_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 200;
const STOP_GRACE_MS = 3_000;

export interface Aria2Init {
  /** Address for BitTorrent sockets (`--interface`); default 127.0.0.1. */
  readonly host?: string;
  /** BitTorrent listen port; default: a free one. */
  readonly listenPort?: number;
  /** JSON-RPC port on loopback (of the namespace when `netns` is set); default: a free one. */
  readonly rpcPort?: number;
  readonly netns?: string;
  /** Default download directory; default: a directory in aria2's temp dir. */
  readonly downloadDir?: string;
}

export interface Aria2TorrentOptions {
  /** Directory holding (seed) or receiving (download) the content. */
  readonly dir?: string;
  /**
   * `seed`: verify the content in `dir` and seed it indefinitely. `download`: fetch, then stop
   * (`--seed-time=0`). `download-then-seed`: fetch, then keep seeding.
   */
  readonly mode: 'seed' | 'download' | 'download-then-seed';
}

/**
 * aria2c as a daemon (`--enable-rpc`, loopback only) with DHT/LPD/PEX off. aria2 finds peers
 * only through trackers: it cannot be handed a peer address (its magnet parser reads xt, tr and
 * dn only, not x.pe), though other clients can connect to its listen port directly.
 */
export class Aria2 {
  readonly #init: Aria2Init;
  #dir: TempDir | undefined;
  #process: ManagedProcess | undefined;
  #relay: NetnsTcpRelay | undefined;
  #rpc: Aria2RpcClient | undefined;
  #host = '127.0.0.1';
  #listenPort = 0;
  #downloadDir = '';
  #stopping: Promise<void> | undefined;

  constructor(init: Aria2Init = {}) {
    this.#init = init;
  }

  get host(): string {
    return this.#host;
  }

  get listenPort(): number {
    return this.#listenPort;
  }

  get downloadDir(): string {
    return this.#downloadDir;
  }

  output(): string {
    return this.#process?.output() ?? '';
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.#process !== undefined) throw new ProgramStartError(PROGRAM, 'start() called twice');
    const bounded = boundedSignal(signal, START_TIMEOUT_MS);
    const netns = this.#init.netns;
    this.#host = this.#init.host ?? '127.0.0.1';
    this.#dir = await TempDir.create('aria2');
    await chmod(this.#dir.path, 0o755);
    this.#downloadDir = this.#init.downloadDir ?? join(this.#dir.path, 'downloads');
    await mkdir(this.#downloadDir, { recursive: true });
    this.#listenPort = this.#init.listenPort ?? (await getFreePort(this.#host, { netns, signal: bounded }));
    const rpcPort = this.#init.rpcPort ?? (await getFreePort('127.0.0.1', { netns, signal: bounded }));
    const argv = [
      'aria2c',
      '--no-conf=true',
      '--enable-rpc=true',
      `--rpc-listen-port=${rpcPort}`,
      '--rpc-listen-all=false',
      `--dir=${this.#downloadDir}`,
      `--interface=${this.#host}`,
      '--disable-ipv6=true',
      `--listen-port=${this.#listenPort}`,
      '--enable-dht=false',
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      // Completed data must be on disk when the harness reads it.
      '--disk-cache=0',
      '--file-allocation=none',
      '--auto-save-interval=0',
      '--summary-interval=0',
      '--console-log-level=notice',
      `--dht-file-path=${join(this.#dir.path, 'dht.dat')}`,
      // aria2 quits by itself should this Node process die without stopping it.
      `--stop-with-process=${process.pid}`,
    ];
    this.#process = new ManagedProcess({
      program: PROGRAM,
      argv,
      netns,
      env: { ...process.env, HOME: this.#dir.path },
    });
    try {
      await this.#process.start();
      let endpoint: HttpEndpoint = { host: '127.0.0.1', port: rpcPort };
      if (netns !== undefined) {
        this.#relay = new NetnsTcpRelay({
          netns,
          targetHost: '127.0.0.1',
          targetPort: rpcPort,
          socketDir: this.#dir.path,
        });
        await this.#relay.start(bounded);
        endpoint = this.#relay.endpoint;
      }
      const rpc = new Aria2RpcClient(endpoint);
      await this.#poll('RPC up', bounded, async () => {
        try {
          return await rpc.getVersion(bounded);
        } catch (err) {
          if (err instanceof RpcError && !bounded.aborted) return undefined;
          throw err;
        }
      });
      this.#rpc = rpc;
    } catch (err) {
      await this.stop();
      if (err instanceof ProgramExitedError)
        throw new ProgramStartError(PROGRAM, err.message, undefined, { cause: err });
      throw err;
    }
  }

  /** Adds a .torrent (read here, sent over RPC); returns aria2's gid for it. */
  async addTorrent(torrentPath: string, options: Aria2TorrentOptions, signal?: AbortSignal): Promise<string> {
    const rpc = this.#requireRpc('addTorrent');
    const torrent = await readFile(torrentPath);
    const opts: Record<string, string> = { dir: options.dir ?? this.#downloadDir };
    if (options.mode === 'seed') {
      // Verify what is on disk, then seed whatever the share ratio.
      opts['check-integrity'] = 'true';
      opts['seed-ratio'] = '0.0';
    } else if (options.mode === 'download-then-seed') {
      opts['seed-ratio'] = '0.0';
    } else {
      opts['seed-time'] = '0';
    }
    return rpc.addTorrent(torrent, opts, signal);
  }

  async status(gid: string, signal?: AbortSignal): Promise<Aria2Status> {
    return this.#requireRpc('status').tellStatus(gid, signal);
  }

  /** Resolves when every byte is downloaded and verified. Rejects when aria2 reports an error. */
  async waitComplete(gid: string, signal?: AbortSignal): Promise<Aria2Status> {
    return this.#waitDownload(
      gid,
      'complete',
      signal,
      (s) => s.totalLength > 0 && s.completedLength === s.totalLength,
    );
  }

  /** Resolves when the content passed the hash check and aria2 seeds it. */
  async waitSeeding(gid: string, signal?: AbortSignal): Promise<Aria2Status> {
    return this.#waitDownload(
      gid,
      'seeding',
      signal,
      (s) => s.status === 'active' && s.seeder && !s.verifying,
    );
  }

  /** SIGTERM (aria2 sends stopped announces), SIGKILL after a grace period; removes temp files. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#relay?.stop();
    await this.#process?.stop(STOP_GRACE_MS);
    await this.#dir?.remove();
  }

  #waitDownload(
    gid: string,
    what: string,
    signal: AbortSignal | undefined,
    done: (s: Aria2Status) => boolean,
  ): Promise<Aria2Status> {
    const rpc = this.#requireRpc(`wait for ${what}`);
    let last: Aria2Status | undefined;
    return this.#poll(
      `download ${gid} ${what}`,
      signal,
      async () => {
        const s = await rpc.tellStatus(gid, signal);
        last = s;
        if (s.status === 'error' || s.status === 'removed') {
          const why = s.errorMessage ?? `status ${s.status}`;
          throw new ProgramReportedError(
            PROGRAM,
            `download ${gid}: ${why} (code ${s.errorCode ?? '?'})`,
            this.output(),
          );
        }
        return done(s) ? s : undefined;
      },
      () => (last === undefined ? '' : `last status: ${JSON.stringify(last)}`),
    );
  }

  #poll<T>(
    what: string,
    signal: AbortSignal | undefined,
    probe: () => Promise<T | undefined>,
    extra?: () => string,
  ): Promise<T> {
    return pollUntil(probe, {
      intervalMs: POLL_INTERVAL_MS,
      signal,
      what: `${PROGRAM}: ${what}`,
      context: () => `${extra?.() ?? ''}\n${this.output()}`,
      failure: () => {
        const status = this.#process?.exitStatus;
        return status && new ProgramExitedError(PROGRAM, status.code, status.signal, this.output());
      },
    });
  }

  #requireRpc(operation: string): Aria2RpcClient {
    if (this.#rpc === undefined || !this.#process?.running)
      throw new ProgramNotRunningError(PROGRAM, operation);
    return this.#rpc;
  }
}
