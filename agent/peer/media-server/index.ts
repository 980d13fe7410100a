export { type ByteRange, interpretRange, type RangeOutcome } from './byte-range.js';
export { ContentPaths, type PathLookup } from './content-paths.js';
export { MediaServerInitError, MediaServerListenError, MediaServerStoppedError } from './errors.js';
export {
  DEFAULT_MAX_CONCURRENT_RESPONSES,
  MediaServer,
  type MediaServerAddress,
  type MediaServerDeps,
  type MediaServerEvents,
  type MediaServerInit,
  type MediaServerListen,
  type MediaServerResponseEvent,
  type MediaServerStats,
} from './media-server.js';
export { TokenBucket, type TokenBucketInit, TokenBucketInitError } from './token-bucket.js';
