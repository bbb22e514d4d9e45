/**
 * Where the shared state lives: settings.js `supersim.redis` or the environment. Parsing never opens
 * a connection and never loads the Redis client, so a Node-RED without these settings pays nothing.
 */

export interface RedisSettings {
  /** redis:// or rediss:// (TLS); a password may be in it, and is never logged (see redactedRedisUrl). */
  url: string;
  /** Every key and channel starts with it, so several deployments can share one Redis. */
  keyPrefix: string;
  /** How long an instance's claim on pending attempts lasts without renewal. */
  leaseMs: number;
}

export const DEFAULT_KEY_PREFIX = 'supersim:';
export const DEFAULT_LEASE_MS = 30_000;
export const REDIS_URL_ENV = 'SUPERSIM_REDIS_URL';

const SETTING_NAME = 'supersim.redis.url in settings.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * settings.js `supersim.redis` { url, keyPrefix, leaseMs } or env SUPERSIM_REDIS_URL (settings win);
 * undefined when neither. Throws a TypeError / RangeError naming the setting for anything unusable.
 */
export function redisSettingsOf(supersimSettings: unknown, env: NodeJS.ProcessEnv = process.env): RedisSettings | undefined {
  const redis = isRecord(supersimSettings) ? supersimSettings.redis : undefined;
  if (redis !== undefined && redis !== null && !isRecord(redis)) {
    throw new TypeError('supersim.redis in settings.js must be an object such as { url: "redis://127.0.0.1:6379" }');
  }
  const configured = redis?.url;
  const fromEnv = env[REDIS_URL_ENV];
  let url: string;
  let source: string;
  if (configured !== undefined && configured !== null && configured !== '') {
    if (typeof configured !== 'string') throw new TypeError(`${SETTING_NAME} must be a string such as "redis://127.0.0.1:6379"`);
    url = configured.trim();
    source = SETTING_NAME;
  } else if (fromEnv !== undefined && fromEnv.trim() !== '') {
    url = fromEnv.trim();
    source = `the environment variable ${REDIS_URL_ENV}`;
  } else {
    return undefined;
  }
  checkUrl(url, source);
  return { url, keyPrefix: keyPrefixOf(redis?.keyPrefix), leaseMs: leaseMsOf(redis?.leaseMs) };
}

function checkUrl(url: string, source: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${source} is not a URL: write it as redis://[:password@]host:port or rediss:// for TLS`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RangeError(`${source} must start with redis:// or rediss:// (TLS), not ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') throw new RangeError(`${source} has no host: write it as redis://host:port`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw new RangeError(`${source} names database "${db}": the path may only be a database number such as /0`);
}

function keyPrefixOf(value: unknown): string {
  if (value === undefined || value === null) return DEFAULT_KEY_PREFIX;
  if (typeof value !== 'string' || value.length > 100 || /\s/.test(value)) {
    throw new TypeError('supersim.redis.keyPrefix in settings.js must be a string of at most 100 characters without spaces, such as "supersim:"');
  }
  return value;
}

function leaseMsOf(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_LEASE_MS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1000 || value > 3_600_000) {
    throw new RangeError('supersim.redis.leaseMs in settings.js must be a whole number of milliseconds from 1000 to 3600000');
  }
  return value;
}

/** The URL with any password (and user name's secret part) replaced by '***': the only form logged or shown. */
export function redactedRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Unparseable: show nothing of it rather than risk a password.
    return '(a Redis URL that is not valid)';
  }
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString().replace(/\/$/, '');
}

/** host:port only, for short status and log lines. */
export function redisEndpointOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`;
  } catch {
    return '(a Redis URL that is not valid)';
  }
}
