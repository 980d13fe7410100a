import { SeedstreamError } from '../peer/errors.js';

/*
 * Every request the tracker refuses is answered with a bencoded `failure reason` built from one of
 * these errors: the message is what the client sees, the code is what tests and logs match on.
 */

/** A request the tracker refuses; `param` names the query parameter at fault, when there is one. */
export abstract class TrackerRequestError extends SeedstreamError {
  readonly param?: string;

  constructor(code: string, message: string, param?: string, options?: { cause?: unknown }) {
    super(code, message, options);
    if (param !== undefined) this.param = param;
  }
}

/** A required parameter (info_hash, peer_id, port) is absent. */
export class MissingParameterError extends TrackerRequestError {
  constructor(param: string) {
    super('ERR_TRACKER_MISSING_PARAM', `missing parameter ${param}`, param);
  }
}

/** A parameter is present but its value cannot be read (bad escape, wrong length, not a number...). */
export class MalformedParameterError extends TrackerRequestError {
  constructor(param: string, why: string, options?: { cause?: unknown }) {
    super('ERR_TRACKER_MALFORMED_PARAM', `malformed parameter ${param}: ${why}`, param, options);
  }
}

/** `numwant` beyond what any client plausibly means (smaller excesses are capped, not refused). */
export class NumwantTooLargeError extends TrackerRequestError {
  constructor(numwant: string, limit: number) {
    super('ERR_TRACKER_NUMWANT_TOO_LARGE', `numwant ${numwant} is larger than ${limit}`, 'numwant');
  }
}

/** The tracker is closed to unknown torrents and this infohash is not on its list. */
export class UnknownTorrentError extends TrackerRequestError {
  constructor(infoHashHex: string) {
    super('ERR_TRACKER_UNKNOWN_TORRENT', `unknown torrent ${infoHashHex}`, 'info_hash');
  }
}

/** Too many values for a bounded parameter (info_hash in a scrape, entries in ss_delay). */
export class TooManyValuesError extends TrackerRequestError {
  constructor(param: string, count: number, limit: number) {
    super('ERR_TRACKER_TOO_MANY_VALUES', `too many ${param} values: ${count} > ${limit}`, param);
  }
}

/** Not a GET to /announce or /scrape, or a request with a body. */
export class UnsupportedRequestError extends TrackerRequestError {
  readonly statusCode: number;

  constructor(message: string, statusCode: number) {
    super('ERR_TRACKER_UNSUPPORTED_REQUEST', message);
    this.statusCode = statusCode;
  }
}

/** A UDP request with a connection id this server did not issue, or issued too long ago (BEP 15). */
export class StaleConnectionError extends TrackerRequestError {
  constructor() {
    super('ERR_TRACKER_BAD_CONNECTION_ID', 'connection id expired or unknown; connect again');
  }
}

/** A bad `TrackerServerInit` / selector init value. */
export class TrackerConfigError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_TRACKER_BAD_INIT', message);
  }
}

/** The server could not bind its address. */
export class TrackerListenError extends SeedstreamError {
  constructor(host: string, port: number, options?: { cause?: unknown }) {
    super('ERR_TRACKER_LISTEN', `cannot listen on ${host}:${port}`, options);
  }
}
