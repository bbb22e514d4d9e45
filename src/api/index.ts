export * from './types';
export { ApiError, classifyNetworkError } from './errors';
export type { ApiErrorKind, Effect } from './errors';
export { SuperSimClient, ClientConfigError, DEFAULT_URLS, DEFAULT_TIMEOUTS } from './client';
export type { SuperSimClientOptions, ClientTimeouts, CallOptions } from './client';
export { DEFAULT_RETRY, parseRetryAfter } from './retry';
export type { RetryOptions } from './retry';
