export { AllPiecesPolicy, type AllPiecesPolicyInit } from './all-pieces-policy.js';
export { type BassHandle, type BassInit, startBass } from './bass.js';
export {
  BassOptionError,
  BassWindow,
  type BassWindowInit,
  DEFAULT_BASS_WINDOW_MS,
  type WindowSpan,
} from './bass-window.js';
export {
  WebSeedConnectionError,
  WebSeedError,
  WebSeedHashError,
  WebSeedHttpStatusError,
  WebSeedInitError,
  WebSeedLengthError,
  WebSeedRangeError,
  WebSeedShortBodyError,
  WebSeedTimeoutError,
} from './errors.js';
export { type FileSegment, parseWebSeedUrl, pieceSegments, webSeedFileUrl } from './file-map.js';
export { isFetchable, type WebSeedPolicy, type WebSeedPolicyView } from './policy.js';
export {
  SequentialWindowPolicy,
  type SequentialWindowPolicyDeps,
  type SequentialWindowPolicyInit,
} from './sequential-window-policy.js';
export {
  type WebSeedDeps,
  type WebSeedEvents,
  type WebSeedFailureEvent,
  type WebSeedHost,
  type WebSeedInit,
  type WebSeedPieceEvent,
  WebSeedSource,
  type WebSeedStats,
} from './web-seed.js';
