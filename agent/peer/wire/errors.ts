import { SeedstreamError } from '../errors.js';

/**
 * A remote peer broke the protocol. The connection that sees one logs it, counts it and closes;
 * it never propagates beyond that connection.
 */
export class ProtocolError extends SeedstreamError {}

export class MessageTooLargeError extends ProtocolError {
  constructor(id: number, length: number, limit: number) {
    super('ERR_MESSAGE_TOO_LARGE', `message id ${id} of ${length} bytes exceeds the ${limit}-byte limit`);
  }
}

export class BadMessageError extends ProtocolError {
  constructor(message: string) {
    super('ERR_BAD_MESSAGE', message);
  }
}

export class BadHandshakeError extends ProtocolError {
  constructor(message: string) {
    super('ERR_BAD_HANDSHAKE', message);
  }
}

export class InfoHashMismatchError extends ProtocolError {
  constructor(expected: string, got: string) {
    super('ERR_INFOHASH_MISMATCH', `peer handshake names torrent ${got}, expected ${expected}`);
  }
}

export class UnknownTorrentError extends ProtocolError {
  constructor(infoHashHex: string) {
    super('ERR_UNKNOWN_TORRENT', `peer asked for torrent ${infoHashHex}, which we do not serve`);
  }
}

export class BadRequestError extends ProtocolError {
  constructor(message: string) {
    super('ERR_BAD_REQUEST', message);
  }
}

export class FloodError extends ProtocolError {
  constructor(message: string) {
    super('ERR_FLOOD', message);
  }
}

export class HashFailureError extends ProtocolError {
  constructor(message: string) {
    super('ERR_HASH_FAILURE', message);
  }
}

export class TimeoutError extends SeedstreamError {
  constructor(message: string) {
    super('ERR_TIMEOUT', message);
  }
}

export class SelfConnectionError extends ProtocolError {
  constructor() {
    super('ERR_SELF_CONNECTION', 'connected to ourselves');
  }
}
