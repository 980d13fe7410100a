import { SeedstreamError } from '../errors.js';

/** Codes a `BencodeError` carries; each names one way the input can be malformed. */
export type BencodeErrorCode =
  | 'ERR_BENCODE_TRUNCATED'
  | 'ERR_BENCODE_LEADING_ZERO'
  | 'ERR_BENCODE_TRAILING_BYTES'
  | 'ERR_BENCODE_TOO_DEEP'
  | 'ERR_BENCODE_STRING_TOO_LONG'
  | 'ERR_BENCODE_NEGATIVE_LENGTH'
  | 'ERR_BENCODE_UNSORTED_KEYS'
  | 'ERR_BENCODE_DUPLICATE_KEY'
  | 'ERR_BENCODE_INTEGER'
  | 'ERR_BENCODE_UNEXPECTED_BYTE';

/**
 * Malformed bencoded input. `offset` is the byte offset of the fault in the buffer handed to the
 * decoder (for truncation: the buffer's length, where more bytes were expected).
 */
export class BencodeError extends SeedstreamError {
  readonly offset: number;

  constructor(code: BencodeErrorCode, message: string, offset: number, options?: { cause?: unknown }) {
    super(code, `${message} at byte offset ${offset}`, options);
    this.offset = offset;
  }
}

/** A value handed to `encode` that bencode cannot represent (fractions, booleans, cycles...). */
export class BencodeEncodeError extends SeedstreamError {
  /** Where in the value the fault is, e.g. `info.files[2].length`. */
  readonly path: string;

  constructor(message: string, path: string) {
    super('ERR_BENCODE_UNENCODABLE', `${message} at ${path === '' ? 'the top level' : path}`);
    this.path = path;
  }
}

/** A decoded value has the wrong type for what the reader expected (see accessors.ts). */
export class BencodeTypeError extends SeedstreamError {
  /** The key path of the value, e.g. `info.files[3].path`. */
  readonly path: string;

  /** The message without the path, for callers that re-wrap the error. */
  readonly detail: string;

  constructor(detail: string, path: string) {
    super('ERR_BENCODE_WRONG_TYPE', `${path}: ${detail}`);
    this.path = path;
    this.detail = detail;
  }
}

/** A required dictionary key is absent. */
export class BencodeMissingKeyError extends SeedstreamError {
  readonly path: string;

  readonly detail = 'required key is missing';

  constructor(path: string) {
    super('ERR_BENCODE_MISSING_KEY', `${path}: required key is missing`);
    this.path = path;
  }
}

/** A byte string read as text is not valid UTF-8. */
export class BencodeUtf8Error extends SeedstreamError {
  readonly path: string;

  readonly detail = 'byte string is not valid UTF-8';

  constructor(path: string, options?: { cause?: unknown }) {
    super('ERR_BENCODE_BAD_UTF8', `${path}: byte string is not valid UTF-8`, options);
    this.path = path;
  }
}
