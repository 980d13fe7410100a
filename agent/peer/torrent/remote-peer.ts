import type { Socket } from 'node:net';
import { MessageStats } from '../accounting/message-stats.js';
import { RateMeter } from '../accounting/rate-meter.js';
import { Bitfield, BitfieldError } from '../bitfield.js';
import type { ChokerPeer } from '../choker/choker.js';
import type { Link } from '../net/link.js';
import { RttEstimator } from '../net/rtt-estimator.js';
import type { PickerPeer } from '../picker/piece-picker.js';
import { BLOCK_LENGTH } from '../wire/constants.js';
import { WireDecoder, type WireHandler } from '../wire/decoder.js';
import { BadMessageError, type ProtocolError } from '../wire/errors.js';
import type { PeerQos } from '../wire/extensions/qos.js';
import type { ExtensionPeer } from '../wire/extensions/wire-extension.js';
import type { Handshake } from '../wire/handshake.js';
import { WireWriter } from '../wire/wire-writer.js';

/** What a remote peer needs from its torrent: every decision above the single connection. */
export interface PeerHost {
  readonly pieceCount: number;
  readonly stats: MessageStats;
  kindOfLocalExtensionId(id: number): number;
  onBitfield(peer: RemotePeer): void;
  onHave(peer: RemotePeer, index: number): void;
  onChoked(peer: RemotePeer): void;
  onUnchoked(peer: RemotePeer): void;
  onInterestChanged(peer: RemotePeer): void;
  onRequest(peer: RemotePeer, index: number, begin: number, length: number): void;
  onCancel(peer: RemotePeer, index: number, begin: number, length: number): void;
  onReject(peer: RemotePeer, index: number, begin: number, length: number): void;
  onAllowedFast(peer: RemotePeer, index: number): void;
  onPieceStart(peer: RemotePeer, index: number, begin: number, length: number): Uint8Array | null;
  onPieceEnd(peer: RemotePeer, index: number, begin: number, length: number, target: Uint8Array | null): void;
  onExtended(peer: RemotePeer, extendedId: number, payload: Buffer): void;
  sendExtension(peer: RemotePeer, name: string, payload: Uint8Array): boolean;
  closePeer(peer: RemotePeer, err?: Error): void;
}

export interface RemotePeerInit {
  readonly id: string;
  readonly socket: Socket;
  readonly host: string;
  readonly port: number;
  readonly handshake: Handshake;
  readonly inbound: boolean;
  readonly fast: boolean;
  readonly extensions: boolean;
  readonly now: number;
  /** The link the connection's traffic goes through (default: unlimited). */
  readonly link?: Link;
}

/** Largest set of pieces a peer may suggest that we remember. */
const MAX_SUGGESTED = 64;
/** Largest allowed-fast set we accept from a peer. */
const MAX_ALLOWED_FAST_IN = 64;

/**
 * One connected remote peer of a torrent: its protocol state, our requests to it, its requests
 * to us, rates, and the connection's reader and writer. Protocol checks that need only this
 * connection's state live here; everything that needs the swarm goes to the `PeerHost`.
 */
export class RemotePeer implements WireHandler, ChokerPeer, PickerPeer, ExtensionPeer {
  readonly id: string;
  readonly host: string;
  /** The remote's address port (for inbound peers, its ephemeral port until it tells us `p`). */
  readonly port: number;
  listenPort: number | undefined;
  readonly peerId: Buffer;
  readonly inbound: boolean;
  /** Both sides negotiated BEP 6. */
  readonly fast: boolean;
  /** Both sides negotiated BEP 10. */
  readonly extensions: boolean;
  readonly socket: Socket;
  readonly stats: MessageStats;
  readonly writer: WireWriter;
  readonly decoder: WireDecoder;
  readonly connectedAt: number;
  readonly #host: PeerHost;

  have: Bitfield;
  /** The first message (bitfield / have all / have none) has been seen or skipped. */
  #sawFirstMessage = false;
  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  /**
   * Our outstanding requests to the remote: `blockKey` -> when it was sent (ms). A number, not
   * an object, so a request costs no allocation; `pieceOfKey`/`beginOfKey` recover the block.
   */
  readonly outstanding = new Map<number, number>();
  /** Pipeline depth we aim for (adaptive). */
  pipelineTarget: number;
  /** The remote's advertised request queue size (`reqq`). */
  remoteRequestQueue = 250;
  /** Its requests to us, waiting to be served. */
  readonly requestQueue: Array<{ index: number; begin: number; length: number }> = [];
  serving = false;
  readonly allowedFastIn = new Set<number>();
  readonly allowedFastOut = new Set<number>();
  readonly suggested = new Set<number>();
  /** Remote extended ids by extension name, from its extended handshake. */
  readonly remoteExtensions = new Map<string, number>();
  clientName: string | undefined;
  readonly download: RateMeter;
  readonly upload: RateMeter;
  lastBlockAt: number;
  lastReceiveAt: number;
  hashFailures = 0;
  unrequestedBlocks = 0;
  closed = false;
  /** Smoothed request-to-block round trip (see RttEstimator); undefined until measured. */
  rttMs: number | undefined;
  readonly rtt = new RttEstimator();
  /** What it declared in `ss_qos` (`require`, upstream capacity); empty for ordinary clients. */
  qos: PeerQos = {};

  constructor(host: PeerHost, init: RemotePeerInit) {
    this.#host = host;
    this.id = init.id;
    this.host = init.host;
    this.port = init.port;
    this.peerId = init.handshake.peerId;
    this.inbound = init.inbound;
    this.fast = init.fast;
    this.extensions = init.extensions;
    this.socket = init.socket;
    this.connectedAt = init.now;
    this.lastBlockAt = init.now;
    this.lastReceiveAt = init.now;
    this.have = new Bitfield(host.pieceCount);
    this.stats = new MessageStats(host.stats);
    this.writer = new WireWriter(init.socket, this.stats, init.link);
    this.decoder = new WireDecoder(this, { pieceCount: host.pieceCount, stats: this.stats });
    this.decoder.extensionKindOf = (id) => host.kindOfLocalExtensionId(id);
    this.download = new RateMeter(init.now);
    this.upload = new RateMeter(init.now);
    this.pipelineTarget = MIN_PIPELINE;
  }

  // ChokerPeer / PickerPeer views.
  get interested(): boolean {
    return this.peerInterested;
  }
  get choked(): boolean {
    return this.amChoking;
  }
  get downloadRate(): number {
    return this.download.rate(Date.now());
  }
  get uploadRate(): number {
    return this.upload.rate(Date.now());
  }
  get snubbed(): boolean {
    return this.amInterested && !this.peerChoking && Date.now() - this.lastBlockAt > SNUB_AFTER_MS;
  }
  get seed(): boolean {
    return this.have.complete;
  }
  /** A request for `index` arrived (plain or in a range): the answer to our unchoke, maybe (RttEstimator). */
  noteRequest(index: number): void {
    if (this.rtt.awaitingRequest && this.rtt.onRequest(Date.now(), this.allowedFastOut.has(index)))
      this.rttMs = this.rtt.srttMs;
  }

  /** Its `require` (ss_qos), as the QoS choker reads it. */
  get requiredBitrateBps(): number | undefined {
    return this.qos.minBitrateBitsPerSec;
  }
  get maxResponseDelayMs(): number | undefined {
    return this.qos.maxDelayMs;
  }

  /** A numeric key for block (piece, begin) of this torrent. */
  static blockKey(piece: number, begin: number): number {
    return piece * 0x10000 + begin / BLOCK_LENGTH;
  }

  static pieceOfKey(key: number): number {
    return Math.floor(key / 0x10000);
  }

  static beginOfKey(key: number): number {
    return (key % 0x10000) * BLOCK_LENGTH;
  }

  // ExtensionPeer.
  send(name: string, payload: Uint8Array): boolean {
    return this.#host.sendExtension(this, name, payload);
  }
  supports(name: string): boolean {
    return (this.remoteExtensions.get(name) ?? 0) > 0;
  }
  fail(err: ProtocolError): void {
    this.#host.closePeer(this, err);
  }

  /** An extension message that counts as a first message (a range have): no bitfield after it. */
  markFirstMessageSeen(): void {
    this.#sawFirstMessage = true;
  }

  /** Feeds socket bytes (`transient`: valid only during the call); a protocol error closes the connection. */
  receive(chunk: Buffer, transient = false): void {
    this.lastReceiveAt = Date.now();
    try {
      this.decoder.push(chunk, transient);
    } catch (err) {
      this.#host.closePeer(this, err as Error);
    }
  }

  #firstMessage(kind: string): void {
    if (this.#sawFirstMessage) throw new BadMessageError(`${kind} is only allowed as the first message`);
    this.#sawFirstMessage = true;
  }

  #requireFast(kind: string): void {
    if (!this.fast) throw new BadMessageError(`${kind} received but the fast extension was not negotiated`);
  }

  #checkIndex(index: number, kind: string): void {
    if (index >= this.#host.pieceCount) {
      throw new BadMessageError(`${kind} for piece ${index}, but the torrent has ${this.#host.pieceCount}`);
    }
  }

  // WireHandler.
  onKeepAlive(): void {}

  onChoke(): void {
    this.#sawFirstMessage = true;
    if (this.peerChoking) return;
    this.peerChoking = true;
    this.#host.onChoked(this);
  }

  onUnchoke(): void {
    this.#sawFirstMessage = true;
    if (!this.peerChoking) return;
    this.peerChoking = false;
    this.lastBlockAt = Date.now();
    this.#host.onUnchoked(this);
  }

  onInterested(): void {
    this.#sawFirstMessage = true;
    if (this.peerInterested) return;
    this.peerInterested = true;
    this.#host.onInterestChanged(this);
  }

  onNotInterested(): void {
    this.#sawFirstMessage = true;
    if (!this.peerInterested) return;
    this.peerInterested = false;
    this.#host.onInterestChanged(this);
  }

  onHave(index: number): void {
    this.#sawFirstMessage = true;
    this.#checkIndex(index, 'have');
    if (this.have.has(index)) return;
    this.have.set(index);
    this.#host.onHave(this, index);
  }

  onBitfield(bytes: Buffer): void {
    let have: Bitfield;
    try {
      have = new Bitfield(this.#host.pieceCount, bytes);
    } catch (err) {
      if (err instanceof BitfieldError) throw new BadMessageError(err.message);
      throw err;
    }
    if (this.#sawFirstMessage) {
      this.#addPieces(have);
      return;
    }
    this.#firstMessage('bitfield');
    this.have = have;
    this.#host.onBitfield(this);
  }

  onHaveAll(): void {
    this.#requireFast('have all');
    if (this.#sawFirstMessage) {
      this.#addPieces(Bitfield.full(this.#host.pieceCount));
      return;
    }
    this.#firstMessage('have all');
    this.have = Bitfield.full(this.#host.pieceCount);
    this.#host.onBitfield(this);
  }

  /**
   * A bitfield or have all after the first message: aria2 sends one in place of many `have`
   * messages, and libtorrent and Transmission accept it. Like `have`, it only ever adds pieces.
   */
  #addPieces(pieces: Bitfield): void {
    for (const index of pieces.indices()) {
      // Becoming a seed can close the connection (two seeds) part-way.
      if (this.closed) return;
      this.onHave(index);
    }
  }

  onHaveNone(): void {
    this.#requireFast('have none');
    this.#firstMessage('have none');
    this.#host.onBitfield(this);
  }

  onRequest(index: number, begin: number, length: number): void {
    this.#sawFirstMessage = true;
    this.#host.onRequest(this, index, begin, length);
  }

  onCancel(index: number, begin: number, length: number): void {
    this.#sawFirstMessage = true;
    this.#host.onCancel(this, index, begin, length);
  }

  onPort(): void {
    // DHT is not used: the port message is accepted and ignored.
  }

  onSuggest(index: number): void {
    this.#sawFirstMessage = true;
    this.#requireFast('suggest');
    this.#checkIndex(index, 'suggest');
    if (this.suggested.size < MAX_SUGGESTED) this.suggested.add(index);
  }

  onReject(index: number, begin: number, length: number): void {
    this.#sawFirstMessage = true;
    this.#requireFast('reject');
    this.#checkIndex(index, 'reject');
    this.#host.onReject(this, index, begin, length);
  }

  onAllowedFast(index: number): void {
    this.#sawFirstMessage = true;
    this.#requireFast('allowed fast');
    this.#checkIndex(index, 'allowed fast');
    if (this.allowedFastIn.size >= MAX_ALLOWED_FAST_IN || this.allowedFastIn.has(index)) return;
    this.allowedFastIn.add(index);
    this.#host.onAllowedFast(this, index);
  }

  onExtended(extendedId: number, payload: Buffer): void {
    // No #sawFirstMessage here: libtorrent sends its extended handshake before its bitfield /
    // have all / have none, which must still be accepted.
    if (!this.extensions)
      throw new BadMessageError('extended message received but BEP 10 was not negotiated');
    this.#host.onExtended(this, extendedId, payload);
  }

  onPieceStart(index: number, begin: number, length: number): Uint8Array | null {
    this.#sawFirstMessage = true;
    const key = RemotePeer.blockKey(index, begin);
    const sentAt = this.outstanding.get(key);
    if (sentAt !== undefined && this.rtt.onBlockStart(key, sentAt, Date.now())) this.rttMs = this.rtt.srttMs;
    return this.#host.onPieceStart(this, index, begin, length);
  }

  onPieceEnd(index: number, begin: number, length: number, target: Uint8Array | null): void {
    this.#host.onPieceEnd(this, index, begin, length, target);
  }

  onUnknown(): void {
    // Unknown message ids are skipped (length-capped by the decoder), as BEP 3 asks.
  }
}

/** Smallest request pipeline per peer. */
export const MIN_PIPELINE = 16;
/** Largest request pipeline per peer (bounded by the remote's `reqq`). */
export const MAX_PIPELINE = 500;
/** Seconds of transfer at the measured rate that the pipeline should cover. */
export const PIPELINE_SECONDS = 3;
/** A peer that unchoked us and sends nothing for this long is snubbed. */
export const SNUB_AFTER_MS = 60_000;
