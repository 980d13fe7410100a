export {
  asBuffer,
  asDict,
  asInt,
  asList,
  asString,
  dictGet,
  dictRequire,
  isDict,
  keyPath,
} from './accessors.js';
export type { BencodeDict, BencodeValue, DecodeOptions } from './decode.js';
export { DEFAULT_MAX_DEPTH, DEFAULT_MAX_STRING_LENGTH_BYTES, decode, decodePrefix } from './decode.js';
export type { Encodable } from './encode.js';
export { dictKeyBytes, encode } from './encode.js';
export type { BencodeErrorCode } from './errors.js';
export {
  BencodeEncodeError,
  BencodeError,
  BencodeMissingKeyError,
  BencodeTypeError,
  BencodeUtf8Error,
} from './errors.js';
export type { ByteSpan } from './span.js';
export { decodeDictWithSpans, dictValueSpan } from './span.js';
