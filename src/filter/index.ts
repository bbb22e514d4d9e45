export { DEFAULT_MAX_COMMANDS, StatusFilterState } from './state.js';
export type { FilterDecision, FilterEntry, StatusFilterOptions, StatusFilterSnapshot } from './state.js';
export { applyMessage, commandOf, resetOf } from './message.js';
export type { FilterMessage, MessageOutcome, ResetRequest } from './message.js';
export { contextStores, parseMaxCommands, parseStatuses } from './config.js';
export { SAVE_INTERVAL_MS, STATE_KEY, SaveScheduler } from './persistence.js';
export type { SaveSchedulerOptions, Store } from './persistence.js';
export { FilterSession, MAX_WAITING } from './session.js';
export type { FilterSessionOptions } from './session.js';
