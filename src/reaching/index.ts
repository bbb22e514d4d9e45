export type * from './types';
export { PendingCommands } from './pending-commands';
export type { NewCommand, PendingCommandsOptions, PendingEvents, PendingJob } from './pending-commands';
export { ReachError, ReachRefusal, durationText } from './errors';
export type { DescribeReach, ReachErrorCode, ReachRefusalCode } from './errors';
export { MAX_STORED_MESSAGE_CHARS, deserialiseMessage, serialiseMessage } from './messages';
export { MemoryPendingStore } from './memory-store';
