import { SeedstreamError } from '../errors.js';

/** A media server was configured with an impossible value (`MediaServerInit` / deps). */
export class MediaServerInitError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_MEDIA_SERVER_BAD_INIT', message);
  }
}

/** The server could not bind its address. */
export class MediaServerListenError extends SeedstreamError {
  readonly host: string;
  readonly port: number;

  constructor(host: string, port: number, cause: unknown) {
    super(
      'ERR_MEDIA_SERVER_LISTEN',
      `media server cannot listen on ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.host = host;
    this.port = port;
  }
}

/** `start` after `stop`: a stopped server is not restarted (build a new one). */
export class MediaServerStoppedError extends SeedstreamError {
  constructor() {
    super('ERR_MEDIA_SERVER_STOPPED', 'the media server was stopped and cannot be started again');
  }
}
