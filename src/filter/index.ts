export { DEFAULT_MAX_COMMANDS, StatusFilterState } from './state';
export type { FilterDecision, FilterEntry, StatusFilterOptions, StatusFilterSnapshot } from './state';
export { applyMessage, commandOf, resetOf } from './message';
export type { FilterMessage, MessageOutcome, ResetRequest } from './message';
export { contextStores, parseMaxCommands, parseStatuses } from './config';
export { SAVE_INTERVAL_MS, STATE_KEY, SaveScheduler } from './persistence';
export type { SaveSchedulerOptions, Store } from './persistence';
export { FilterSession, MAX_WAITING } from './session';
export type { FilterSessionOptions } from './session';
