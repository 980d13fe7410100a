export { formatEndpoint, formatIp, parseIp } from './address.js';
export type { AnnounceListener, AnnounceLogDeps, AnnounceLogInit, AnnounceRecord } from './announce-log.js';
export { AnnounceLog, DEFAULT_ANNOUNCE_LOG_CAPACITY } from './announce-log.js';
export type { AnnounceParams, DelayReport } from './announce-params.js';
export {
  MAX_DELAY_MS,
  MAX_DELAY_REPORTS,
  MAX_SCRAPE_INFO_HASHES,
  MAX_UPSTREAM_BPS,
  NUMWANT_REJECT_ABOVE,
  parseAnnounceQuery,
  parseExtensionQuery,
  parseScrapeQuery,
} from './announce-params.js';
export {
  MalformedParameterError,
  MissingParameterError,
  NumwantTooLargeError,
  StaleConnectionError,
  TooManyValuesError,
  TrackerConfigError,
  TrackerListenError,
  TrackerRequestError,
  UnknownTorrentError,
  UnsupportedRequestError,
} from './errors.js';
export type { PeerSelector, SelectionRequest } from './peer-selector.js';
export type { QosSelectorInit } from './selectors/qos-selector.js';
export { QOS_DEFAULTS, QosSelector } from './selectors/qos-selector.js';
export type { RandomSelectorInit } from './selectors/random-selector.js';
export { RandomSelector } from './selectors/random-selector.js';
export type {
  PeerEndpoint,
  PeerUpdate,
  PeerView,
  SwarmRegistryDeps,
  SwarmRegistryInit,
  SwarmView,
} from './swarm-registry.js';
export { Swarm, SwarmRegistry } from './swarm-registry.js';
export type { AnnounceOutcome, ScrapeCounts, TrackerDeps, TrackerInit } from './tracker.js';
export { MAX_FULL_SCRAPE_TORRENTS, TRACKER_DEFAULTS, Tracker } from './tracker.js';
export type { TrackerAddress, TrackerServerDeps, TrackerServerInit, TrackerStats } from './tracker-server.js';
export { MAX_REQUEST_HEAD_BYTES, TrackerServer } from './tracker-server.js';
export type { UdpRequest } from './udp-protocol.js';
export { MAX_UDP_SCRAPE_INFO_HASHES, parseUdpRequest, UDP_PROTOCOL_ID } from './udp-protocol.js';
export type { UdpTrackerServerDeps, UdpTrackerServerInit, UdpTrackerStats } from './udp-tracker-server.js';
export { UdpTrackerServer } from './udp-tracker-server.js';
