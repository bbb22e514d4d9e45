export { CommandLog, MAX_ROWS } from './log';
export type { CommandBatch, CommandLogOptions, CommandSnapshot, FollowedCommand, SendStart } from './log';
export { BATCH_INTERVAL_MS, Batcher } from './batcher';
export type { BatcherOptions } from './batcher';
export { MAX_EARLIER_SIDS, MAX_ERROR_CHARS, MAX_PAYLOAD_CHARS, MAX_STATUSES, cutText, errorOf, payloadText, withoutCredentials } from './row';
export type { CommandRow, ReceivedCommand, RowError, RowNode, RowStatus } from './row';
