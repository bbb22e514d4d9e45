export { redisSettingsOf, redactedRedisUrl, redisEndpointOf, DEFAULT_KEY_PREFIX, DEFAULT_LEASE_MS, REDIS_URL_ENV } from './settings';
export type { RedisSettings } from './settings';
export { connectRedis, RedisUnavailable } from './connection';
export type { RedisHealth, RedisCommandClient, SharedRedis, ConnectOptions } from './connection';
export { ANSWER_CLAIM_MS, EventRouter, eventRouterOf } from './routing';
export type { RoutableEvent, RoutedAnswerDesk, RoutedStatusHub, RouteStats, RoutingRedis } from './routing';
export { MAX_BACKLOG_KEYS, RedisClaimStore } from './claims';
export type { RedisClaimStoreOptions } from './claims';
export { RedisFilterStore } from './filter-store';
