import { RpcError } from './errors.js';
import { describeEndpoint, type HttpEndpoint, httpRequest, parseJsonBody } from './http-client.js';

const RPC_PATH = '/transmission/rpc';
const SESSION_HEADER = 'x-transmission-session-id';

/** Transmission's torrent status codes (libtransmission tr_torrent_activity). */
export const TransmissionStatus = {
  stopped: 0,
  checkWait: 1,
  check: 2,
  downloadWait: 3,
  download: 4,
  seedWait: 5,
  seed: 6,
} as const;

export interface TransmissionTorrentRef {
  readonly id: number;
  readonly hashString: string;
  readonly name: string;
}

/** The torrent-get fields the harness reads. */
export interface TransmissionTorrent {
  readonly id: number;
  readonly hashString: string;
  readonly name: string;
  readonly status: number;
  /** 0..1 of the wanted bytes. */
  readonly percentDone: number;
  readonly haveValid: number;
  readonly sizeWhenDone: number;
  readonly leftUntilDone: number;
  readonly rateDownload: number;
  readonly rateUpload: number;
  readonly uploadedEver: number;
  readonly peersConnected: number;
  /** 0 none, 1 tracker warning, 2 tracker error, 3 local error. */
  readonly error: number;
  readonly errorString: string;
  readonly downloadDir: string;
}

const TORRENT_FIELDS: readonly (keyof TransmissionTorrent)[] = [
  'id',
  'hashString',
  'name',
  'status',
  'percentDone',
  'haveValid',
  'sizeWhenDone',
  'leftUntilDone',
  'rateDownload',
  'rateUpload',
  'uploadedEver',
  'peersConnected',
  'error',
  'errorString',
  'downloadDir',
];

interface RpcReply {
  result: string;
  arguments?: Record<string, unknown>;
}

/**
 * Transmission's JSON-RPC over HTTP, including the CSRF handshake: the daemon answers 409 with
 * an `X-Transmission-Session-Id` header, which every later request must carry.
 */
export class TransmissionRpcClient {
  readonly #endpoint: HttpEndpoint;
  readonly #url: string;
  #sessionId = '';

  constructor(endpoint: HttpEndpoint) {
    this.#endpoint = endpoint;
    this.#url = describeEndpoint(endpoint, RPC_PATH);
  }

  /** One RPC; throws RpcError unless the reply's `result` is `success`. */
  async call(
    method: string,
    args: Record<string, unknown> = {},
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const body = JSON.stringify({ method, arguments: args });
    // Two rounds at most: the first may only fetch the session id.
    for (let round = 0; round < 2; round++) {
      const res = await httpRequest(this.#endpoint, {
        method: 'POST',
        path: RPC_PATH,
        headers: { 'content-type': 'application/json', [SESSION_HEADER]: this.#sessionId },
        body,
        signal,
      });
      if (res.status === 409) {
        const id = res.headers[SESSION_HEADER];
        if (typeof id !== 'string' || id === '') throw new RpcError(this.#url, '409 without a session id');
        this.#sessionId = id;
        continue;
      }
      if (res.status !== 200) {
        throw new RpcError(
          this.#url,
          `${method}: HTTP ${res.status} ${res.body.subarray(0, 200).toString()}`,
        );
      }
      const reply = parseJsonBody(this.#url, res.body) as RpcReply;
      if (reply.result !== 'success') throw new RpcError(this.#url, `${method}: ${reply.result}`);
      return reply.arguments ?? {};
    }
    throw new RpcError(this.#url, `${method}: the daemon keeps rejecting the session id`);
  }

  async sessionGet(signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.call('session-get', {}, signal);
  }

  /** Adds a .torrent by path (read by the daemon, so the path must be visible to it). */
  async torrentAdd(
    torrentPath: string,
    downloadDir: string,
    signal?: AbortSignal,
  ): Promise<TransmissionTorrentRef> {
    const args = await this.call(
      'torrent-add',
      { filename: torrentPath, 'download-dir': downloadDir, paused: false },
      signal,
    );
    const ref = (args['torrent-added'] ?? args['torrent-duplicate']) as TransmissionTorrentRef | undefined;
    if (ref === undefined)
      throw new RpcError(this.#url, `torrent-add of ${torrentPath}: reply names no torrent`);
    return ref;
  }

  /** Status of the given torrents (all when `ids` is undefined). */
  async torrentGet(ids?: readonly number[], signal?: AbortSignal): Promise<TransmissionTorrent[]> {
    const args: Record<string, unknown> = { fields: TORRENT_FIELDS };
    if (ids !== undefined) args.ids = ids;
    const reply = await this.call('torrent-get', args, signal);
    return (reply.torrents ?? []) as TransmissionTorrent[];
  }

  async torrentReannounce(ids: readonly number[], signal?: AbortSignal): Promise<void> {
    await this.call('torrent-reannounce', { ids }, signal);
  }
}
