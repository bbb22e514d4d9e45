export { isTrackingDone } from '../commands';
export type { CommandKind as TrackedKind } from '../shared';
export { CallbackHub } from './hub';
export type { CallbackHubOptions, StatusEventLike } from './hub';
export { DeliveryTracker, clientFetcher } from './tracker';
export type {
  DeliveryTrackerOptions,
  FetchCommand,
  PollOptions,
  StatusEventSource,
  StatusUpdate,
  TrackedResource,
  TrackingEnd,
  TrackOptions,
} from './tracker';
