import { SeedstreamError } from '../errors.js';

/**
 * A tracker exchange failed. Every subclass names the tracker URL it was talking to, so a peer
 * with several trackers can tell which one misbehaved.
 */
export abstract class TrackerError extends SeedstreamError {
  readonly url: string;

  constructor(code: string, url: string, message: string, options?: { cause?: unknown }) {
    super(code, `${url}: ${message}`, options);
    this.url = url;
  }
}

/** The tracker answered with a bencoded `failure reason`. */
export class TrackerFailureError extends TrackerError {
  readonly reason: string;

  constructor(url: string, reason: string) {
    super('ERR_TRACKER_FAILURE', url, `tracker failure: ${reason}`);
    this.reason = reason;
  }
}

/** A non-200 HTTP status without a failure reason. */
export class TrackerHttpStatusError extends TrackerError {
  readonly status: number;

  constructor(url: string, status: number) {
    super('ERR_TRACKER_HTTP_STATUS', url, `HTTP status ${status}`);
    this.status = status;
  }
}

/** No complete answer within the time limit. */
export class TrackerTimeoutError extends TrackerError {
  readonly timeoutMs: number;

  constructor(url: string, timeoutMs: number) {
    super('ERR_TRACKER_TIMEOUT', url, `no answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** The answer is not valid bencode, lacks a required field, or has a field of the wrong shape. */
export class TrackerResponseError extends TrackerError {
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super('ERR_TRACKER_BAD_RESPONSE', url, message, options);
  }
}

/** The connection failed (refused, reset, DNS...); `cause` holds the system error. */
export class TrackerNetworkError extends TrackerError {
  constructor(url: string, options: { cause: unknown }) {
    const detail = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super('ERR_TRACKER_NETWORK', url, `connection failed: ${detail}`, options);
  }
}

/** The tracker URL is not usable (not http/https, or no scrape URL can be derived from it). */
export class TrackerUrlError extends TrackerError {
  constructor(url: string, message: string) {
    super('ERR_TRACKER_BAD_URL', url, message);
  }
}

/** The announce we were asked to send is invalid (wrong infohash length, bad port...). */
export class TrackerRequestInvalidError extends TrackerError {
  constructor(url: string, message: string) {
    super('ERR_TRACKER_BAD_REQUEST', url, message);
  }
}
