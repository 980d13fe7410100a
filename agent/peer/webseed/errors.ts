import { SeedstreamError } from '../errors.js';

/**
 * A web seed fetch failed. Every subclass names the URL it was fetching and the piece it was
 * fetching for, so a torrent with several web seeds can tell which one misbehaved.
 */
export abstract class WebSeedError extends SeedstreamError {
  readonly url: string;
  readonly piece: number;

  constructor(code: string, url: string, piece: number, message: string, options?: { cause?: unknown }) {
    super(code, `${url} (piece ${piece}): ${message}`, options);
    this.url = url;
    this.piece = piece;
  }
}

/** The connection failed (refused, reset, DNS...); `cause` holds the system error. */
export class WebSeedConnectionError extends WebSeedError {
  constructor(url: string, piece: number, cause: unknown) {
    super('ERR_WEBSEED_CONNECTION', url, piece, `connection failed: ${describe(cause)}`, { cause });
  }
}

/** A status other than 206 (or 200 for a request of a whole file). */
export class WebSeedHttpStatusError extends WebSeedError {
  readonly status: number;

  constructor(url: string, piece: number, status: number) {
    super('ERR_WEBSEED_HTTP_STATUS', url, piece, `HTTP status ${status}`);
    this.status = status;
  }
}

/** The server ignored the Range (200 with the whole file) or answered another range. */
export class WebSeedRangeError extends WebSeedError {
  constructor(url: string, piece: number, message: string) {
    super('ERR_WEBSEED_BAD_RANGE', url, piece, message);
  }
}

/** The body (or its declared Content-Length) is longer than the range asked for. */
export class WebSeedLengthError extends WebSeedError {
  readonly expected: number;
  readonly actual: number;

  constructor(url: string, piece: number, expected: number, actual: number, what = 'body') {
    super('ERR_WEBSEED_WRONG_LENGTH', url, piece, `${what} of ${actual} bytes, expected ${expected}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** The connection ended before the whole range arrived. */
export class WebSeedShortBodyError extends WebSeedError {
  readonly expected: number;
  readonly received: number;

  constructor(url: string, piece: number, expected: number, received: number, cause?: unknown) {
    super(
      'ERR_WEBSEED_SHORT_BODY',
      url,
      piece,
      `body ended after ${received} of ${expected} bytes`,
      cause === undefined ? undefined : { cause },
    );
    this.expected = expected;
    this.received = received;
  }
}

/** No complete answer within the time limit. */
export class WebSeedTimeoutError extends WebSeedError {
  readonly timeoutMs: number;

  constructor(url: string, piece: number, timeoutMs: number) {
    super('ERR_WEBSEED_TIMEOUT', url, piece, `no complete answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** The bytes arrived whole but the piece they completed failed its SHA-1 check. */
export class WebSeedHashError extends WebSeedError {
  constructor(url: string, piece: number) {
    super('ERR_WEBSEED_HASH_MISMATCH', url, piece, 'the piece failed its hash check');
  }
}

/** A web seed was configured with an impossible value (a URL that is not http(s), a bad limit). */
export class WebSeedInitError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_WEBSEED_BAD_INIT', message);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
