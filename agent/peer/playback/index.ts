export { attachPlayer, type PlayerAttachment } from './attach.js';
export { BoundedSeries, MIN_SERIES_POINTS, type SeriesPoint } from './bounded-series.js';
export { PlaybackInitError, PlaybackPieceError } from './errors.js';
export { MediaTimeline, type MediaTimelineInit } from './media-timeline.js';
export {
  type BufferSample,
  type DoneEvent,
  type PlaybackMetrics,
  PlaybackRecorder,
  type PlaybackState,
  type PlayerEvents,
  type ResumeEvent,
  type StallEvent,
  type StartedEvent,
} from './metrics.js';
export type { PlaybackView } from './playback-view.js';
export {
  DEFAULT_BUFFER_SERIES_POINTS,
  DEFAULT_REBUFFER_MS,
  Player,
  type PlayerDeps,
  type PlayerInit,
  type PlayerOptions,
} from './player.js';
export { type PlaybackScheduler, realScheduler } from './scheduler.js';
