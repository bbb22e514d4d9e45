export { StatusFilterState } from './state.js';
export type { FilterDecision, FilterEntry, StatusFilterOptions, StatusFilterSnapshot } from './state.js';
