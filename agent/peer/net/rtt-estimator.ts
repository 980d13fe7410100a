/** Weight of a new sample in the smoothed round-trip time (RFC 6298's alpha). */
export const RTT_ALPHA = 1 / 8;
/** Weight of a new sample's deviation in the RTT variation (RFC 6298's beta). */
export const RTT_BETA = 1 / 4;
/**
 * An unchoke answered later than this was not answered at once (the peer had nothing to ask for
 * then): no sample.
 */
export const MAX_UNCHOKE_ANSWER_MS = 2_000;

/**
 * A connection's round-trip time, measured from request to the first byte of the block it asked
 * for and smoothed like TCP's SRTT (RFC 6298).
 *
 * A pipelined request waits at the remote behind the blocks requested before it, so its
 * request-to-block time is mostly that queue, not the round trip: the block arrives right after
 * the previous one however far away the peer is. Only a request sent while nothing else was
 * outstanding to the peer (a probe: an idle pipe, after an unchoke, a gap in demand) measures the
 * round trip plus the remote's response time. Every other request still bounds the round trip
 * from above, so a time below the estimate lowers it (and never raises it).
 *
 * A peer we only upload to (a seed's view of its leechers) is measured the other way round: an
 * interested peer asks for blocks as soon as it is unchoked, so the time from our unchoke to its
 * first request is a round trip too.
 */
export class RttEstimator {
  srttMs: number | undefined;
  rttVarMs: number | undefined;
  /** Samples taken (probes and lowering bounds). */
  samples = 0;
  #probeKey = -1;
  #probeSentAt = 0;
  #unchokeSentAt: number | undefined;

  /** Block `key` was requested at `sentAt` while no other request to the peer was outstanding. */
  probe(key: number, sentAt: number): void {
    this.#probeKey = key;
    this.#probeSentAt = sentAt;
  }

  /**
   * The first byte of requested block `key`, asked for at `sentAt`, arrived at `now`. Returns
   * true when this gave a sample.
   */
  onBlockStart(key: number, sentAt: number, now: number): boolean {
    const elapsed = now - sentAt;
    // sentAt tells a probe from a later re-request of the same block (after a reject or timeout).
    if (key === this.#probeKey && sentAt === this.#probeSentAt) {
      this.#probeKey = -1;
      this.add(elapsed);
      return true;
    }
    if (this.srttMs !== undefined && elapsed < this.srttMs) {
      this.add(elapsed);
      return true;
    }
    return false;
  }

  /** We unchoked the (interested) peer at `at`. */
  unchoked(at: number): void {
    this.#unchokeSentAt = at;
  }

  /** An unchoke is waiting for its first request. */
  get awaitingRequest(): boolean {
    return this.#unchokeSentAt !== undefined;
  }

  /** We choked it again: a request arriving later answers nothing of ours. */
  choked(): void {
    this.#unchokeSentAt = undefined;
  }

  /**
   * A request arrived at `now`. Only the first one after the unchoke can answer it; if that is for
   * an allowed-fast piece (BEP 6) it may have been sent before the unchoke arrived, and the peer
   * had requests in the pipe anyway: no sample then. Returns true when this gave a sample.
   */
  onRequest(now: number, allowedFast: boolean): boolean {
    const at = this.#unchokeSentAt;
    if (at === undefined) return false;
    this.#unchokeSentAt = undefined;
    if (allowedFast) return false;
    if (now - at > MAX_UNCHOKE_ANSWER_MS) return false;
    this.add(now - at);
    return true;
  }

  add(sampleMs: number): void {
    const sample = Number.isFinite(sampleMs) && sampleMs > 0 ? sampleMs : 0;
    if (this.srttMs === undefined || this.rttVarMs === undefined) {
      this.srttMs = sample;
      this.rttVarMs = sample / 2;
    } else {
      this.rttVarMs = (1 - RTT_BETA) * this.rttVarMs + RTT_BETA * Math.abs(this.srttMs - sample);
      this.srttMs = (1 - RTT_ALPHA) * this.srttMs + RTT_ALPHA * sample;
    }
    this.samples++;
  }
}
