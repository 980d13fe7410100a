export type {
  AnnouncedPeer,
  AnnounceEvent,
  AnnounceRequest,
  AnnounceResponse,
  Announcer,
  PeerDelayReport,
} from './announcer.js';
export {
  TrackerError,
  TrackerFailureError,
  TrackerHttpStatusError,
  TrackerNetworkError,
  TrackerRequestInvalidError,
  TrackerResponseError,
  TrackerTimeoutError,
  TrackerUrlError,
} from './errors.js';
export type { HttpAnnouncerDeps, HttpAnnouncerInit, ScrapeEntry, ScrapeOptions } from './http-announcer.js';
export {
  ANNOUNCE_TIMEOUT_MS,
  buildAnnounceQuery,
  encodeDelays,
  HttpAnnouncer,
  MAX_DELAY_MS,
  MAX_DELAY_REPORTS,
  MAX_TRACKER_RESPONSE_BYTES,
  parseAnnounceReply,
  percentEncodeBytes,
  scrape,
  scrapeUrlOf,
} from './http-announcer.js';
