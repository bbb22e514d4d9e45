export { isTrackingDone } from '../commands/lifecycle.js';
export type { CommandKind as TrackedKind } from '../shared/vocabulary.js';
export { CallbackHub } from './hub.js';
export type { CallbackHubOptions, StatusEventLike } from './hub.js';
export { DeliveryTracker, clientFetcher } from './tracker.js';
export type {
  DeliveryTrackerOptions,
  FetchCommand,
  PollOptions,
  StatusEventSource,
  StatusUpdate,
  TrackedResource,
  TrackingEnd,
  TrackOptions,
} from './tracker.js';
