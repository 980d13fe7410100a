import { RpcError } from './errors.js';
import { describeEndpoint, type HttpEndpoint, httpRequest, parseJsonBody } from './http-client.js';

const RPC_PATH = '/jsonrpc';

/** aria2.tellStatus keys the harness reads; aria2 reports numbers as decimal strings. */
const STATUS_KEYS = [
  'gid',
  'status',
  'totalLength',
  'completedLength',
  'uploadLength',
  'downloadSpeed',
  'uploadSpeed',
  'connections',
  'numSeeders',
  'seeder',
  'errorCode',
  'errorMessage',
  'verifiedLength',
  'verifyIntegrityPending',
  'infoHash',
] as const;

/** aria2's download states. */
export type Aria2DownloadState = 'active' | 'waiting' | 'paused' | 'error' | 'complete' | 'removed';

export interface Aria2Status {
  readonly gid: string;
  readonly status: Aria2DownloadState;
  readonly totalLength: number;
  readonly completedLength: number;
  readonly uploadLength: number;
  readonly downloadSpeed: number;
  readonly uploadSpeed: number;
  readonly connections: number;
  readonly numSeeders: number;
  /** True once the download has every piece (aria2 then seeds). */
  readonly seeder: boolean;
  /** True while a hash check is queued or running. */
  readonly verifying: boolean;
  readonly infoHash: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

interface JsonRpcReply {
  result?: unknown;
  error?: { code: number; message: string };
}

function num(v: unknown): number {
  return typeof v === 'string' && v !== '' ? Number(v) : 0;
}

/** aria2's JSON-RPC over HTTP (no secret: the harness binds it to loopback only). */
export class Aria2RpcClient {
  readonly #endpoint: HttpEndpoint;
  readonly #url: string;
  #nextId = 1;

  constructor(endpoint: HttpEndpoint) {
    this.#endpoint = endpoint;
    this.#url = describeEndpoint(endpoint, RPC_PATH);
  }

  async call(method: string, params: readonly unknown[] = [], signal?: AbortSignal): Promise<unknown> {
    const id = String(this.#nextId++);
    const res = await httpRequest(this.#endpoint, {
      method: 'POST',
      path: RPC_PATH,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      signal,
    });
    // aria2 reports RPC errors with HTTP 400 and a JSON body; read the body either way.
    const reply = parseJsonBody(this.#url, res.body) as JsonRpcReply;
    if (reply.error !== undefined)
      throw new RpcError(this.#url, `${method}: ${reply.error.message} (code ${reply.error.code})`);
    if (res.status !== 200) throw new RpcError(this.#url, `${method}: HTTP ${res.status}`);
    return reply.result;
  }

  async getVersion(signal?: AbortSignal): Promise<string> {
    const r = (await this.call('aria2.getVersion', [], signal)) as { version?: string };
    return r.version ?? '';
  }

  /** Adds a torrent given as the .torrent's bytes; returns its gid. */
  async addTorrent(torrent: Buffer, options: Record<string, string>, signal?: AbortSignal): Promise<string> {
    return (await this.call('aria2.addTorrent', [torrent.toString('base64'), [], options], signal)) as string;
  }

  async tellStatus(gid: string, signal?: AbortSignal): Promise<Aria2Status> {
    const r = (await this.call('aria2.tellStatus', [gid, STATUS_KEYS], signal)) as Record<string, unknown>;
    return {
      gid: String(r.gid),
      status: r.status as Aria2DownloadState,
      totalLength: num(r.totalLength),
      completedLength: num(r.completedLength),
      uploadLength: num(r.uploadLength),
      downloadSpeed: num(r.downloadSpeed),
      uploadSpeed: num(r.uploadSpeed),
      connections: num(r.connections),
      numSeeders: num(r.numSeeders),
      seeder: r.seeder === 'true',
      verifying: r.verifyIntegrityPending === 'true' || r.verifiedLength !== undefined,
      infoHash: String(r.infoHash ?? ''),
      ...(typeof r.errorCode === 'string' && r.errorCode !== '0' ? { errorCode: r.errorCode } : {}),
      ...(typeof r.errorMessage === 'string' && r.errorMessage !== ''
        ? { errorMessage: r.errorMessage }
        : {}),
    };
  }
}
