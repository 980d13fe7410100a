import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import {
  TransmissionRpcClient,
  TransmissionStatus,
  type TransmissionTorrent,
  type TransmissionTorrentRef,
} from './transmission-rpc.js';
import { boundedSignal, pollUntil } from './wait.js';

const PROGRAM = 'transmission-daemon';
const START_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 200;
/** Transmission's "local error" (disk, missing data); tracker errors (1, 2) are transient. */
const LOCAL_ERROR = 3;
/** SIGTERM lets the daemon send stopped announces; it gets this long before SIGKILL. */
const STOP_GRACE_MS = 3_000;

export interface TransmissionDaemonInit {
  /** Address for peer connections (listen and outgoing); default 127.0.0.1. */
  readonly host?: string;
  /** Peer port; default: a free one. */
  readonly peerPort?: number;
  /** RPC port on 127.0.0.1 (of the namespace when `netns` is set); default: a free one. */
  readonly rpcPort?: number;
  /**
   * Run inside this network namespace. Needed for Transmission as a leecher: it ignores
   * loopback peers, so it must meet its peers on a lab address.
   */
  readonly netns?: string;
  /** Default download directory; default: a directory in the daemon's temp dir. */
  readonly downloadDir?: string;
}

/**
 * transmission-daemon in the foreground with a private config dir, DHT/LPD/PEX/uTP/port mapping
 * off, RPC without authentication on loopback, driven through its JSON-RPC. Peers are found only
 * through trackers: Transmission cannot be told a peer's address.
 */
export class TransmissionDaemon {
  readonly #init: TransmissionDaemonInit;
  #dir: TempDir | undefined;
  #process: ManagedProcess | undefined;
  #relay: NetnsTcpRelay | undefined;
  #rpc: TransmissionRpcClient | undefined;
  #host = '127.0.0.1';
  #peerPort = 0;
  #downloadDir = '';
  #stopping: Promise<void> | undefined;

  constructor(init: TransmissionDaemonInit = {}) {
    this.#init = init;
  }

  get host(): string {
    return this.#host;
  }

  get peerPort(): number {
    return this.#peerPort;
  }

  get downloadDir(): string {
    return this.#downloadDir;
  }

  output(): string {
    return this.#process?.output() ?? '';
  }

  /** Writes the config, spawns the daemon, resolves once its RPC answers. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#process !== undefined) throw new ProgramStartError(PROGRAM, 'start() called twice');
    const bounded = boundedSignal(signal, START_TIMEOUT_MS);
    const netns = this.#init.netns;
    this.#host = this.#init.host ?? '127.0.0.1';
    this.#dir = await TempDir.create('transmission');
    // The daemon may run as root in a namespace, but keep the tree readable for the tests.
    await chmod(this.#dir.path, 0o755);
    const configDir = join(this.#dir.path, 'config');
    this.#downloadDir = this.#init.downloadDir ?? join(this.#dir.path, 'downloads');
    await mkdir(configDir);
    await mkdir(this.#downloadDir, { recursive: true });
    this.#peerPort = this.#init.peerPort ?? (await getFreePort(this.#host, { netns, signal: bounded }));
    const rpcPort = this.#init.rpcPort ?? (await getFreePort('127.0.0.1', { netns, signal: bounded }));
    await writeFile(join(configDir, 'settings.json'), JSON.stringify(this.#settings(rpcPort), null, 2));
    this.#process = new ManagedProcess({
      program: PROGRAM,
      argv: ['transmission-daemon', '--foreground', '--config-dir', configDir],
      netns,
      // Its HOME-based defaults must not leak in; everything it writes stays in the temp dir.
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
      const rpc = new TransmissionRpcClient(endpoint);
      await this.#poll('RPC up', bounded, async () => {
        try {
          return await rpc.sessionGet(bounded);
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

  /**
   * Adds a .torrent (the daemon reads the file itself). For seeding, point `downloadDir` at the
   * directory holding the content: Transmission verifies it and then seeds.
   */
  async addTorrent(
    torrentPath: string,
    downloadDir?: string,
    signal?: AbortSignal,
  ): Promise<TransmissionTorrentRef> {
    return this.#requireRpc('addTorrent').torrentAdd(torrentPath, downloadDir ?? this.#downloadDir, signal);
  }

  /** Status of every torrent (or the given ones). */
  async progress(ids?: readonly number[], signal?: AbortSignal): Promise<TransmissionTorrent[]> {
    return this.#requireRpc('progress').torrentGet(ids, signal);
  }

  /** Announces the torrents to their trackers now. */
  async reannounce(ids: readonly number[], signal?: AbortSignal): Promise<void> {
    await this.#requireRpc('reannounce').torrentReannounce(ids, signal);
  }

  /** Resolves when the torrent has all wanted data, verified. Rejects on a local error. */
  async waitComplete(id: number, signal?: AbortSignal): Promise<TransmissionTorrent> {
    return this.#waitTorrent(id, 'complete', signal, (t) => t.percentDone === 1 && t.leftUntilDone === 0);
  }

  /** Resolves when the torrent has passed verification and is seeding. */
  async waitSeeding(id: number, signal?: AbortSignal): Promise<TransmissionTorrent> {
    return this.#waitTorrent(
      id,
      'seeding',
      signal,
      (t) => t.status === TransmissionStatus.seed && t.percentDone === 1,
    );
  }

  /** SIGTERM (stopped announces), SIGKILL after a grace period; removes the temp dir. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#relay?.stop();
    await this.#process?.stop(STOP_GRACE_MS);
    await this.#dir?.remove();
  }

  #settings(rpcPort: number): Record<string, unknown> {
    return {
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'utp-enabled': false,
      'port-forwarding-enabled': false,
      'peer-port': this.#peerPort,
      'peer-port-random-on-start': false,
      'bind-address-ipv4': this.#host,
      'bind-address-ipv6': '::1',
      'rpc-enabled': true,
      'rpc-bind-address': '127.0.0.1',
      'rpc-port': rpcPort,
      'rpc-authentication-required': false,
      'rpc-whitelist-enabled': false,
      'rpc-host-whitelist-enabled': false,
      'download-dir': this.#downloadDir,
      'incomplete-dir-enabled': false,
      'watch-dir-enabled': false,
      // Files keep their names while incomplete, and completed data is on disk, not in a cache.
      'rename-partial-files': false,
      'cache-size-mb': 0,
      'start-added-torrents': true,
      'trash-original-torrent-files': false,
      'ratio-limit-enabled': false,
      'idle-seeding-limit-enabled': false,
      'speed-limit-up-enabled': false,
      'speed-limit-down-enabled': false,
      'alt-speed-enabled': false,
      'download-queue-enabled': false,
      'seed-queue-enabled': false,
      'queue-stalled-enabled': false,
      'message-level': 2,
    };
  }

  #waitTorrent(
    id: number,
    what: string,
    signal: AbortSignal | undefined,
    done: (t: TransmissionTorrent) => boolean,
  ): Promise<TransmissionTorrent> {
    const rpc = this.#requireRpc(`wait for ${what}`);
    let last: TransmissionTorrent | undefined;
    return this.#poll(
      `torrent ${id} ${what}`,
      signal,
      async () => {
        const [t] = await rpc.torrentGet([id], signal);
        if (t === undefined)
          throw new ProgramReportedError(PROGRAM, `no torrent with id ${id}`, this.output());
        last = t;
        if (t.error === LOCAL_ERROR)
          throw new ProgramReportedError(PROGRAM, `torrent ${id}: ${t.errorString}`, this.output());
        return done(t) ? t : undefined;
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

  #requireRpc(operation: string): TransmissionRpcClient {
    if (this.#rpc === undefined || !this.#process?.running)
      throw new ProgramNotRunningError(PROGRAM, operation);
    return this.#rpc;
  }
}
