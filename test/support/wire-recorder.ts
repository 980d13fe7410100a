import type { WireHandler } from '../../agent/peer/wire/decoder.js';

/** One decoded message as a plain, comparable tuple: `[kind, ...fields]`. */
export type WireEvent = readonly (string | number | boolean | null)[];

/** Where the block of a piece message goes: a piece buffer, or null to discard it. */
export type SinkPolicy = (index: number, begin: number, length: number) => Uint8Array | null;

/** Byte that fills sinks from `paddedSink`, so a test can see which bytes the decoder wrote. */
export const SINK_FILL = 0xee;

/** A sink `begin + length + 16` bytes long, filled with SINK_FILL. */
export const paddedSink: SinkPolicy = (_index, begin, length) => Buffer.alloc(begin + length + 16, SINK_FILL);

/**
 * A WireHandler that records every message as a WireEvent (payload views are copied, as they are
 * valid only during the call). Piece messages are recorded at their end with the block's bytes
 * read back from the sink, and whether the sink's bytes outside the block were left untouched.
 */
export class WireRecorder implements WireHandler {
  readonly events: WireEvent[] = [];
  sinkFor: SinkPolicy;

  constructor(sinkFor: SinkPolicy = paddedSink) {
    this.sinkFor = sinkFor;
  }

  onKeepAlive(): void {
    this.events.push(['keepalive']);
  }
  onChoke(): void {
    this.events.push(['choke']);
  }
  onUnchoke(): void {
    this.events.push(['unchoke']);
  }
  onInterested(): void {
    this.events.push(['interested']);
  }
  onNotInterested(): void {
    this.events.push(['not_interested']);
  }
  onHave(index: number): void {
    this.events.push(['have', index]);
  }
  onBitfield(bytes: Buffer): void {
    this.events.push(['bitfield', bytes.toString('hex')]);
  }
  onRequest(index: number, begin: number, length: number): void {
    this.events.push(['request', index, begin, length]);
  }
  onCancel(index: number, begin: number, length: number): void {
    this.events.push(['cancel', index, begin, length]);
  }
  onPort(port: number): void {
    this.events.push(['port', port]);
  }
  onSuggest(index: number): void {
    this.events.push(['suggest', index]);
  }
  onHaveAll(): void {
    this.events.push(['have_all']);
  }
  onHaveNone(): void {
    this.events.push(['have_none']);
  }
  onReject(index: number, begin: number, length: number): void {
    this.events.push(['reject', index, begin, length]);
  }
  onAllowedFast(index: number): void {
    this.events.push(['allowed_fast', index]);
  }
  onExtended(extendedId: number, payload: Buffer): void {
    this.events.push(['extended', extendedId, payload.toString('hex')]);
  }
  onPieceStart(index: number, begin: number, length: number): Uint8Array | null {
    return this.sinkFor(index, begin, length);
  }
  onPieceEnd(index: number, begin: number, length: number, target: Uint8Array | null): void {
    if (target === null) {
      this.events.push(['piece', index, begin, length, null, true]);
      return;
    }
    const block = Buffer.from(target.subarray(begin, begin + length)).toString('hex');
    let intact = true;
    for (let i = 0; i < target.length; i++) {
      if ((i < begin || i >= begin + length) && target[i] !== SINK_FILL) {
        intact = false;
        break;
      }
    }
    this.events.push(['piece', index, begin, length, block, intact]);
  }
  onUnknown(id: number, payload: Buffer): void {
    this.events.push(['unknown', id, payload.toString('hex')]);
  }
}
