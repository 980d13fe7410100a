import { chmod, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asDict, asInt, type BencodeValue, decode, dictGet, isDict } from '../peer/bencode/index.js';
import {
  InvalidInfoHashError,
  ProgramExitedError,
  ProgramNotRunningError,
  ProgramStartError,
  RpcError,
} from './errors.js';
import { getFreePort } from './free-port.js';
import { describeEndpoint, type HttpEndpoint, httpRequest } from './http-client.js';
import { ManagedProcess } from './managed-process.js';
import { NetnsTcpRelay } from './netns-relay.js';
import { TempDir } from './temp-dir.js';
import { boundedSignal, pollUntil } from './wait.js';

const PROGRAM = 'opentracker';
const START_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 100;
const WHITELIST_FILE = 'whitelist.txt';
/** Any 20 bytes do as the peer id of the harness's own probe announces. */
const PROBE_PEER_ID = '-SS0000-harnessprobe';
const INFOHASH_HEX_RE = /^[0-9a-f]{40}$/;

export interface OpenTrackerInit {
  /** Address to bind (TCP and UDP); default 127.0.0.1. */
  readonly host?: string;
  /** Port for both TCP and UDP; default: a free one. */
  readonly port?: number;
  /** Run inside this network namespace; `host` is then an address of that namespace. */
  readonly netns?: string;
  /** Infohashes (hex) allowed from the start. */
  readonly whitelist?: readonly string[];
  /** Account the tracker drops privileges to after its chroot (Debian default: nobody). */
  readonly user?: string;
}

/** A torrent's counts as the tracker's scrape reports them. */
export interface ScrapeCounts {
  readonly complete: number;
  readonly incomplete: number;
  readonly downloaded: number;
}

function checkInfoHash(hex: string): string {
  const lower = hex.toLowerCase();
  if (!INFOHASH_HEX_RE.test(lower)) {
    throw new InvalidInfoHashError(hex);
  }
  return lower;
}

/** Infohash hex as the tracker expects it in a query: every byte percent-escaped. */
function infoHashQuery(hex: string): string {
  return hex.replace(/../g, '%$&');
}

/**
 * Debian's opentracker: built with a whitelist (WANT_ACCESSLIST_WHITE), so it tracks only the
 * infohashes listed in its `-w` file, whose path is relative to the `-d` chroot. It re-reads
 * the file on SIGHUP. It answers HTTP and UDP on the same port and takes peers' addresses from
 * the source address of the announce (never from `ip=`).
 */
export class OpenTracker {
  readonly #init: OpenTrackerInit;
  readonly #whitelist = new Set<string>();
  #host = '127.0.0.1';
  #port = 0;
  #dir: TempDir | undefined;
  #process: ManagedProcess | undefined;
  #relay: NetnsTcpRelay | undefined;
  #endpoint: HttpEndpoint | undefined;
  #stopping: Promise<void> | undefined;

  constructor(init: OpenTrackerInit = {}) {
    this.#init = init;
    for (const hex of init.whitelist ?? []) this.#whitelist.add(checkInfoHash(hex));
  }

  get host(): string {
    return this.#host;
  }

  get port(): number {
    return this.#port;
  }

  /** The chroot directory holding the whitelist (removed by stop()). */
  get directory(): string | undefined {
    return this.#dir?.path;
  }

  /** HTTP announce URL (as seen by peers in the same namespace, or on loopback). */
  get announceUrl(): string {
    return describeEndpoint({ host: this.#host, port: this.#port }, '/announce');
  }

  get udpAnnounceUrl(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `udp://${host}:${this.#port}/announce`;
  }

  /** The tail of the tracker's output, for error messages. */
  output(): string {
    return this.#process?.output() ?? '';
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.#process !== undefined) throw new ProgramStartError(PROGRAM, 'start() called twice');
    const bounded = boundedSignal(signal, START_TIMEOUT_MS);
    this.#host = this.#init.host ?? '127.0.0.1';
    this.#port =
      this.#init.port ?? (await getFreePort(this.#host, { netns: this.#init.netns, signal: bounded }));
    this.#dir = await TempDir.create('opentracker');
    const dir = this.#dir.path;
    // The tracker reads the whitelist after dropping root, inside the chroot.
    await chmod(dir, 0o755);
    await this.#writeWhitelist();
    const argv = ['opentracker', '-i', this.#host, '-p', String(this.#port), '-P', String(this.#port)];
    argv.push('-d', dir, '-w', WHITELIST_FILE, '-u', this.#init.user ?? 'nobody');
    this.#process = new ManagedProcess({ program: PROGRAM, argv, netns: this.#init.netns });
    try {
      await this.#process.start();
      if (this.#init.netns !== undefined) {
        this.#relay = new NetnsTcpRelay({
          netns: this.#init.netns,
          targetHost: this.#host,
          targetPort: this.#port,
          socketDir: dir,
        });
        await this.#relay.start(bounded);
        this.#endpoint = this.#relay.endpoint;
      } else {
        this.#endpoint = { host: this.#host, port: this.#port };
      }
      await this.#poll('HTTP service up', bounded, async () => {
        try {
          await httpRequest(this.#requireEndpoint(), { method: 'GET', path: '/', timeoutMs: 1_000 });
          return true;
        } catch (err) {
          if (err instanceof RpcError) return undefined;
          throw err;
        }
      });
      await this.#waitWhitelisted([...this.#whitelist], bounded);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Adds infohashes to the whitelist and waits until the running tracker accepts them. */
  async allow(infoHashes: readonly string[], signal?: AbortSignal): Promise<void> {
    const tracker = this.#requireRunning('allow');
    const added = infoHashes.map(checkInfoHash);
    for (const hex of added) this.#whitelist.add(hex);
    await this.#writeWhitelist();
    // opentracker re-reads its whitelist on SIGHUP.
    if (tracker.pid !== undefined) process.kill(tracker.pid, 'SIGHUP');
    await this.#waitWhitelisted(added, boundedSignal(signal, START_TIMEOUT_MS));
  }

  /** The tracker's counts for one torrent; zeros when it knows no peer of it. */
  async scrape(infoHash: string, signal?: AbortSignal): Promise<ScrapeCounts> {
    const hex = checkInfoHash(infoHash);
    const path = `/scrape?info_hash=${infoHashQuery(hex)}`;
    const body = await this.#get(path, signal);
    const where = describeEndpoint(this.#requireEndpoint(), path);
    try {
      const files = asDict(dictGet(asDict(body, 'scrape'), 'files'), 'scrape.files');
      const entry = dictGet(files, Buffer.from(hex, 'hex').toString('latin1'));
      if (!isDict(entry)) return { complete: 0, incomplete: 0, downloaded: 0 };
      return {
        complete: asInt(dictGet(entry, 'complete'), 'complete'),
        incomplete: asInt(dictGet(entry, 'incomplete'), 'incomplete'),
        downloaded: asInt(dictGet(entry, 'downloaded'), 'downloaded'),
      };
    } catch (err) {
      throw new RpcError(where, `unexpected scrape reply: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Waits until the tracker counts at least `want.seeders` seeds and `want.leechers` leechers
   * for the torrent — the point from which a newly announcing peer is told about them.
   */
  async waitForPeers(
    infoHash: string,
    want: { readonly seeders?: number; readonly leechers?: number },
    signal?: AbortSignal,
  ): Promise<ScrapeCounts> {
    return this.#poll(
      `${want.seeders ?? 0} seeders, ${want.leechers ?? 0} leechers of ${infoHash}`,
      signal,
      async () => {
        const counts = await this.scrape(infoHash, signal);
        const enough = counts.complete >= (want.seeders ?? 0) && counts.incomplete >= (want.leechers ?? 0);
        return enough ? counts : undefined;
      },
    );
  }

  /** Kills the tracker and removes its chroot directory. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#relay?.stop();
    await this.#process?.stop();
    await this.#dir?.remove();
  }

  async #writeWhitelist(): Promise<void> {
    if (this.#dir === undefined) return;
    const text = [...this.#whitelist].map((hex) => `${hex}\n`).join('');
    const file = join(this.#dir.path, WHITELIST_FILE);
    // Whole-file replace: the tracker may re-read at any moment and must not see half a line.
    await writeFile(`${file}.tmp`, text, { mode: 0o644 });
    await rename(`${file}.tmp`, file);
  }

  /**
   * A `stopped` announce is answered with a failure reason for torrents not on the whitelist and
   * otherwise changes nothing (the probe peer was never in the swarm), so it observes the
   * whitelist without adding a peer.
   */
  async #waitWhitelisted(infoHashes: readonly string[], signal: AbortSignal): Promise<void> {
    for (const hex of infoHashes) {
      const path =
        `/announce?info_hash=${infoHashQuery(hex)}&peer_id=${PROBE_PEER_ID}&port=1&uploaded=0` +
        '&downloaded=0&left=0&event=stopped&compact=1';
      await this.#poll(`whitelist to contain ${hex}`, signal, async () => {
        const reply = await this.#get(path, signal);
        return isDict(reply) && dictGet(reply, 'failure reason') === undefined ? true : undefined;
      });
    }
  }

  async #get(path: string, signal: AbortSignal | undefined): Promise<BencodeValue> {
    const endpoint = this.#requireEndpoint();
    const url = describeEndpoint(endpoint, path);
    const res = await httpRequest(endpoint, { method: 'GET', path, signal });
    if (res.status !== 200) throw new RpcError(url, `HTTP ${res.status}`);
    try {
      return decode(res.body);
    } catch (err) {
      throw new RpcError(url, `reply is not bencoded: ${(err as Error).message}`, { cause: err });
    }
  }

  #poll<T>(what: string, signal: AbortSignal | undefined, probe: () => Promise<T | undefined>): Promise<T> {
    return pollUntil(probe, {
      intervalMs: POLL_INTERVAL_MS,
      signal,
      what: `${PROGRAM}: ${what}`,
      context: () => this.output(),
      failure: () => {
        const status = this.#process?.exitStatus;
        return status && new ProgramExitedError(PROGRAM, status.code, status.signal, this.output());
      },
    });
  }

  #requireRunning(operation: string): ManagedProcess {
    if (this.#process === undefined || !this.#process.running)
      throw new ProgramNotRunningError(PROGRAM, operation);
    return this.#process;
  }

  #requireEndpoint(): HttpEndpoint {
    if (this.#endpoint === undefined) throw new ProgramNotRunningError(PROGRAM, 'an HTTP request');
    return this.#endpoint;
  }
}
