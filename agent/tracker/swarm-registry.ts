import type { Random } from '../peer/random.js';
import { compactEndpoint, formatEndpoint, formatIp } from './address.js';
import { TrackerConfigError } from './errors.js';

/*
 * Per-torrent peer sets sized for swarms of 10,000+ peers. Each swarm keeps its peers twice:
 * - a Map keyed by peer id whose insertion order is the order of last announce (a re-announce
 *   deletes and re-inserts), so expiry pops stale peers off the front in O(expired);
 * - a dense array with each entry's own index, so removal is a swap with the last element and a
 *   random sample is a partial Fisher-Yates shuffle in place: O(k) for k peers, no rebuild.
 */

/** One address a peer can be reached at. */
export interface PeerEndpoint {
  /** 4 or 16 bytes. */
  readonly address: Buffer;
  readonly port: number;
  /** The address as text (no brackets). */
  readonly host: string;
  /** BEP 23 / BEP 7 compact form, prebuilt because every response copies it. */
  readonly compact: Buffer;
  /** Canonical `host:port` (IPv6 in brackets): the key delay reports use. */
  readonly text: string;
}

export function makeEndpoint(address: Buffer, port: number): PeerEndpoint {
  return {
    address,
    port,
    host: formatIp(address),
    compact: compactEndpoint(address, port),
    text: formatEndpoint(address, port),
  };
}

function sameEndpoint(stored: PeerEndpoint | undefined, given: EndpointAddress | undefined): boolean {
  if (stored === undefined || given === undefined) return stored === given;
  return stored.port === given.port && stored.address.equals(given.address);
}

/** What selectors and the announce log may read about a peer. */
export interface PeerView {
  readonly peerId: Buffer;
  readonly v4?: PeerEndpoint;
  readonly v6?: PeerEndpoint;
  readonly seed: boolean;
  readonly lastSeenMs: number;
  /** Extension: reported upstream capacity, bytes/s. */
  readonly upstreamBps?: number;
  /** Extension: delays this peer reported, by endpoint text. */
  readonly delays?: ReadonlyMap<string, number>;
}

/** What the swarm knows about one endpoint: who announces from it, who reported a delay to it. */
class EndpointInfo {
  peer: PeerEntry | undefined = undefined;
  reporters: Set<PeerEntry> | undefined = undefined;
}

class PeerEntry implements PeerView {
  readonly id: string;
  readonly peerId: Buffer;
  v4?: PeerEndpoint;
  v6?: PeerEndpoint;
  seed = false;
  completed = false;
  lastSeenMs = 0;
  upstreamBps?: number;
  delays?: Map<string, number>;
  key?: string;
  /** Position in the swarm's dense array. */
  index = -1;
  /**
   * The IPv4 compact entry as two 24-bit integers (address bytes 0-2; byte 3 and the port), or
   * -1. Replies copy it for 50+ random peers of a large swarm; reading it from the entry itself
   * avoids three more pointer hops (endpoint, Buffer, backing store), each a likely cache miss.
   */
  compact4High = -1;
  compact4Low = 0;
  /** Direct links into the swarm's endpoint index, so reading a peer's load needs no lookup. */
  v4Info: EndpointInfo | undefined = undefined;
  v6Info: EndpointInfo | undefined = undefined;

  constructor(id: string, peerId: Buffer) {
    this.id = id;
    this.peerId = peerId;
  }
}

/** An address and port as announced, before the registry derives the rest of a PeerEndpoint. */
export interface EndpointAddress {
  readonly address: Buffer;
  readonly port: number;
}

/** A peer's announce, reduced to what the registry stores. */
export interface PeerUpdate {
  readonly peerId: Buffer;
  readonly v4?: EndpointAddress;
  readonly v6?: EndpointAddress;
  /** Bytes left; undefined is taken as "still downloading" unless the event is `completed`. */
  readonly left?: number;
  readonly event?: 'started' | 'completed' | 'stopped';
  readonly key?: string;
  /** Replaces the stored value when given; absent keeps the previous report. */
  readonly upstreamBps?: number;
  /** Replaces the stored reports when given (even empty); absent keeps them. */
  readonly delays?: readonly { readonly endpoint: string; readonly delayMs: number }[];
}

/** Read access to a swarm, for selectors. */
export interface SwarmView {
  readonly infoHash: Buffer;
  readonly size: number;
  readonly complete: number;
  readonly incomplete: number;
  /**
   * Up to `count` distinct peers chosen uniformly at random, never `exclude` and never a peer for
   * which `skip` returns true. O(count) unless many peers are skipped.
   */
  sample(count: number, random: Random, exclude?: PeerView, skip?: (peer: PeerView) => boolean): PeerView[];
  /** The peer announcing from this endpoint text, if any. */
  peerAt(endpoint: string): PeerView | undefined;
  /** Peers whose latest report includes a delay to this endpoint. */
  reportersAbout(endpoint: string): ReadonlySet<PeerView> | undefined;
  /** How many peers' latest reports include a delay to one of this peer's endpoints. */
  reportCount(peer: PeerView): number;
}

export class Swarm implements SwarmView {
  readonly infoHash: Buffer;
  complete = 0;
  incomplete = 0;
  /** Completed events seen (scrape's `downloaded`), once per peer. */
  downloaded = 0;
  readonly #byId = new Map<string, PeerEntry>();
  readonly #dense: PeerEntry[] = [];
  readonly #endpoints = new Map<string, EndpointInfo>();
  /**
   * No peer was last seen before this. Checked before touching the Map: iterating a Map whose
   * front is churned by delete+insert walks the deleted slots, too slow to do on every announce.
   */
  #oldestSeenMs = Number.POSITIVE_INFINITY;

  constructor(infoHash: Buffer) {
    this.infoHash = infoHash;
  }

  get size(): number {
    return this.#dense.length;
  }

  peer(peerId: Buffer): PeerView | undefined {
    return this.#byId.get(peerId.toString('latin1'));
  }

  peerAt(endpoint: string): PeerView | undefined {
    return this.#endpoints.get(endpoint)?.peer;
  }

  reportersAbout(endpoint: string): ReadonlySet<PeerView> | undefined {
    return this.#endpoints.get(endpoint)?.reporters;
  }

  reportCount(view: PeerView): number {
    if (view instanceof PeerEntry) {
      return (view.v4Info?.reporters?.size ?? 0) + (view.v6Info?.reporters?.size ?? 0);
    }
    let n = 0;
    if (view.v4 !== undefined) n += this.reportersAbout(view.v4.text)?.size ?? 0;
    if (view.v6 !== undefined) n += this.reportersAbout(view.v6.text)?.size ?? 0;
    return n;
  }

  #infoOf(endpoint: string): EndpointInfo {
    let info = this.#endpoints.get(endpoint);
    if (info === undefined) this.#endpoints.set(endpoint, (info = new EndpointInfo()));
    return info;
  }

  /** Forgets an endpoint nobody announces from and nobody reports about. */
  #release(endpoint: string, info: EndpointInfo): void {
    if (info.peer === undefined && (info.reporters === undefined || info.reporters.size === 0)) {
      this.#endpoints.delete(endpoint);
    }
  }

  /** Applies an announce; returns the stored peer, or undefined after `stopped`. */
  upsert(update: PeerUpdate, nowMs: number): PeerView | undefined {
    const id = update.peerId.toString('latin1');
    let peer = this.#byId.get(id);
    if (update.event === 'stopped') {
      if (peer !== undefined) this.#remove(peer);
      return undefined;
    }
    if (peer === undefined) {
      peer = new PeerEntry(id, Buffer.from(update.peerId));
      peer.index = this.#dense.length;
      this.#dense.push(peer);
      this.incomplete++;
    } else {
      this.#byId.delete(id);
    }
    this.#byId.set(id, peer);
    peer.lastSeenMs = nowMs;
    if (nowMs < this.#oldestSeenMs) this.#oldestSeenMs = nowMs;
    if (update.key !== undefined) peer.key = update.key;
    this.#setEndpoints(peer, update.v4, update.v6);

    const seed =
      update.left === 0 || (update.left === undefined && (peer.seed || update.event === 'completed'));
    if (seed !== peer.seed) {
      peer.seed = seed;
      if (seed) {
        this.complete++;
        this.incomplete--;
      } else {
        this.complete--;
        this.incomplete++;
      }
    }
    if (update.event === 'completed' && !peer.completed) {
      peer.completed = true;
      this.downloaded++;
    }
    if (update.upstreamBps !== undefined) peer.upstreamBps = update.upstreamBps;
    if (update.delays !== undefined) this.#setDelays(peer, update.delays);
    return peer;
  }

  #setEndpoints(peer: PeerEntry, v4: EndpointAddress | undefined, v6: EndpointAddress | undefined): void {
    // Re-announces almost always come from the same endpoints: compare before building new ones.
    if (sameEndpoint(peer.v4, v4) && sameEndpoint(peer.v6, v6)) return;
    this.#unindexEndpoints(peer);
    peer.v4 = v4 === undefined ? undefined : makeEndpoint(Buffer.from(v4.address), v4.port);
    peer.v6 = v6 === undefined ? undefined : makeEndpoint(Buffer.from(v6.address), v6.port);
    if (v4 === undefined) {
      peer.compact4High = -1;
    } else {
      const a = v4.address;
      peer.compact4High = (a[0] << 16) | (a[1] << 8) | a[2];
      peer.compact4Low = (a[3] << 16) | v4.port;
    }
    if (peer.v4 !== undefined) (peer.v4Info = this.#infoOf(peer.v4.text)).peer = peer;
    if (peer.v6 !== undefined) (peer.v6Info = this.#infoOf(peer.v6.text)).peer = peer;
  }

  #unindexEndpoints(peer: PeerEntry): void {
    for (const [ep, info] of [
      [peer.v4, peer.v4Info],
      [peer.v6, peer.v6Info],
    ] as const) {
      if (ep === undefined || info === undefined) continue;
      // Another peer id may have taken over the endpoint (a restarted client): leave it be.
      if (info.peer === peer) info.peer = undefined;
      this.#release(ep.text, info);
    }
    peer.v4Info = undefined;
    peer.v6Info = undefined;
  }

  #setDelays(peer: PeerEntry, delays: PeerUpdate['delays'] & object): void {
    this.#unindexReports(peer);
    if (delays.length === 0) {
      peer.delays = undefined;
      return;
    }
    const map = new Map<string, number>();
    for (const d of delays) map.set(d.endpoint, d.delayMs);
    peer.delays = map;
    for (const endpoint of map.keys()) {
      const info = this.#infoOf(endpoint);
      info.reporters ??= new Set();
      info.reporters.add(peer);
    }
  }

  #unindexReports(peer: PeerEntry): void {
    if (peer.delays === undefined) return;
    for (const endpoint of peer.delays.keys()) {
      const info = this.#endpoints.get(endpoint);
      if (info === undefined) continue;
      info.reporters?.delete(peer);
      this.#release(endpoint, info);
    }
  }

  #remove(peer: PeerEntry): void {
    this.#byId.delete(peer.id);
    const last = this.#dense.pop()!;
    if (last !== peer) {
      this.#dense[peer.index] = last;
      last.index = peer.index;
    }
    peer.index = -1;
    if (peer.seed) this.complete--;
    else this.incomplete--;
    this.#unindexEndpoints(peer);
    this.#unindexReports(peer);
  }

  /** Drops peers last seen at or before `cutoffMs`; returns how many. */
  expire(cutoffMs: number): number {
    if (this.#oldestSeenMs > cutoffMs) return 0;
    let removed = 0;
    this.#oldestSeenMs = Number.POSITIVE_INFINITY;
    for (const peer of this.#byId.values()) {
      if (peer.lastSeenMs > cutoffMs) {
        this.#oldestSeenMs = peer.lastSeenMs;
        break;
      }
      this.#remove(peer);
      removed++;
    }
    return removed;
  }

  sample(count: number, random: Random, exclude?: PeerView, skip?: (peer: PeerView) => boolean): PeerView[] {
    const dense = this.#dense;
    const n = dense.length;
    const out: PeerView[] = [];
    for (let i = 0; i < n && out.length < count; i++) {
      const j = i + random.int(n - i);
      const picked = dense[j];
      if (j !== i) {
        const displaced = dense[i];
        dense[i] = picked;
        picked.index = i;
        dense[j] = displaced;
        displaced.index = j;
      }
      if (picked === exclude || skip?.(picked)) continue;
      out.push(picked);
    }
    return out;
  }

  /** The BEP 23 (`v4`) or BEP 7 (`v6`) compact list of these peers, in order. */
  compactPeers(peers: readonly PeerView[], family: 'v4' | 'v6'): Buffer {
    if (family === 'v6') {
      const parts: Buffer[] = [];
      for (const peer of peers) if (peer.v6 !== undefined) parts.push(peer.v6.compact);
      return Buffer.concat(parts);
    }
    let count = 0;
    for (const peer of peers) if (peer.v4 !== undefined) count++;
    const out = Buffer.allocUnsafe(count * 6);
    let at = 0;
    for (const view of peers) {
      if (!(view instanceof PeerEntry)) {
        if (view.v4 !== undefined) at += view.v4.compact.copy(out, at);
        continue;
      }
      const high = view.compact4High;
      if (high < 0) continue;
      const low = view.compact4Low;
      out[at] = high >>> 16;
      out[at + 1] = (high >>> 8) & 0xff;
      out[at + 2] = high & 0xff;
      out[at + 3] = low >>> 16;
      out[at + 4] = (low >>> 8) & 0xff;
      out[at + 5] = low & 0xff;
      at += 6;
    }
    return out;
  }

  /** Every peer, in no particular order (tests and diagnostics). */
  peers(): readonly PeerView[] {
    return this.#dense;
  }
}

export interface SwarmRegistryInit {
  /** A peer that has not announced for this long is dropped. */
  readonly peerTtlSec: number;
}

export interface SwarmRegistryDeps {
  /** Milliseconds clock; injectable so tests expire peers without sleeping. */
  readonly now?: () => number;
}

export class SwarmRegistry {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #swarms = new Map<string, Swarm>();

  constructor(init: SwarmRegistryInit, deps: SwarmRegistryDeps = {}) {
    if (!(init.peerTtlSec > 0))
      throw new TrackerConfigError(`peerTtlSec must be > 0, got ${init.peerTtlSec}`);
    this.#ttlMs = init.peerTtlSec * 1000;
    this.#now = deps.now ?? Date.now;
  }

  now(): number {
    return this.#now();
  }

  get swarmCount(): number {
    return this.#swarms.size;
  }

  /** The swarm with its stale peers already dropped, or undefined when nobody announced it. */
  swarm(infoHash: Buffer): Swarm | undefined {
    const swarm = this.#swarms.get(infoHash.toString('latin1'));
    if (swarm !== undefined) swarm.expire(this.#now() - this.#ttlMs);
    return swarm;
  }

  /** Applies an announce to its swarm (created on first use), expiring stale peers first. */
  announce(infoHash: Buffer, update: PeerUpdate): { swarm: Swarm; peer: PeerView | undefined } {
    const key = infoHash.toString('latin1');
    let swarm = this.#swarms.get(key);
    if (swarm === undefined) {
      if (update.event === 'stopped') {
        // Nothing to remove; an empty stand-in keeps callers uniform without creating a swarm.
        return { swarm: new Swarm(Buffer.from(infoHash)), peer: undefined };
      }
      this.#swarms.set(key, (swarm = new Swarm(Buffer.from(infoHash))));
    }
    const now = this.#now();
    swarm.expire(now - this.#ttlMs);
    const peer = swarm.upsert(update, now);
    return { swarm, peer };
  }

  /** Expires stale peers everywhere and forgets empty swarms; returns peers dropped. */
  sweep(): number {
    const cutoff = this.#now() - this.#ttlMs;
    let removed = 0;
    for (const [key, swarm] of this.#swarms) {
      removed += swarm.expire(cutoff);
      if (swarm.size === 0) this.#swarms.delete(key);
    }
    return removed;
  }

  /** Every swarm, stale peers dropped. */
  *swarms(): Generator<Swarm> {
    const cutoff = this.#now() - this.#ttlMs;
    for (const swarm of this.#swarms.values()) {
      swarm.expire(cutoff);
      yield swarm;
    }
  }
}
