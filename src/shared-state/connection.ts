/**
 * One connection pair to Redis per Node-RED runtime: a command client and, on first use, a
 * subscriber (node-redis puts a client in subscriber mode for pub/sub). node-redis is required here,
 * inside connectRedis, so that nothing loads it unless Redis is configured.
 *
 * No offline queue: while Redis is away every call rejects at once with RedisUnavailable and the
 * caller decides with its local state, so nothing piles up in memory during an outage.
 */
import { randomUUID } from 'node:crypto';
import type * as NodeRedis from 'redis';
import type { RedisClientType } from 'redis';
import { redisEndpointOf, redactedRedisUrl } from './settings';
import type { RedisSettings } from './settings';

export type RedisHealth = 'connecting' | 'up' | 'down';
export type RedisCommandClient = RedisClientType;

/** Redis cannot answer now (down, reconnecting or too slow): use local state. */
export class RedisUnavailable extends Error {
  override readonly name = 'RedisUnavailable';
}

export interface SharedRedis {
  readonly settings: RedisSettings;
  /** Random per process (per RED runtime): the owner of leases, the sender of routed events. */
  readonly instanceId: string;
  readonly health: RedisHealth;
  /** keyPrefix + parts.join(':') */
  key(...parts: string[]): string;
  /** fn with the command client when up; rejects at once with RedisUnavailable when not, or when a command times out. */
  run<T>(fn: (client: RedisCommandClient) => Promise<T>): Promise<T>;
  /** Pub/sub on a second connection, resubscribed after reconnects; resolves to an unsubscribe. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  /** Rejects with RedisUnavailable when down. */
  publish(channel: string, message: string): Promise<void>;
  /** Called on every change of health; 'down' carries a short reason without the URL's password. */
  onHealth(listener: (health: RedisHealth, reason?: string) => void): () => void;
  close(): Promise<void>;
}

export interface ConnectOptions {
  log?(line: string): void;
  warn?(line: string): void;
  /** Per command; a slower answer counts as Redis being unavailable. */
  commandTimeoutMs?: number;
  /** The longest wait between reconnect attempts. */
  maxReconnectDelayMs?: number;
}

const COMMAND_TIMEOUT_MS = 2000;
const MAX_RECONNECT_DELAY_MS = 5000;
const REASON_MAX = 200;

// Errors node-redis raises for the connection rather than for the command: the caller falls back.
const CONNECTION_ERRORS = new Set([
  'ClientClosedError',
  'ClientOfflineError',
  'ConnectionTimeoutError',
  'SocketClosedUnexpectedlyError',
  'SocketTimeoutError',
  'TimeoutError',
  'DisconnectsClientError',
  'AbortError',
]);

function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (CONNECTION_ERRORS.has(error.constructor.name) || CONNECTION_ERRORS.has(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND)$/.test(code);
}

function reasonOf(error: unknown, url: string): string {
  const raw = error instanceof Error ? error.message || error.name : String(error);
  let reason = raw;
  const password = (() => {
    try {
      return decodeURIComponent(new URL(url).password);
    } catch {
      return '';
    }
  })();
  // A driver message could echo the URL; never let the password through.
  if (password !== '') reason = reason.split(password).join('***');
  reason = reason.split(url).join(redactedRedisUrl(url));
  return reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX)}…` : reason;
}

export function connectRedis(settings: RedisSettings, options: ConnectOptions = {}): SharedRedis {
  // Required here, not at the top: a Node-RED without Redis settings never loads node-redis.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const redis = require('redis') as typeof NodeRedis;
  const log = options.log ?? ((): void => undefined);
  const warn = options.warn ?? ((): void => undefined);
  const commandTimeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
  const maxDelay = options.maxReconnectDelayMs ?? MAX_RECONNECT_DELAY_MS;
  const shown = redactedRedisUrl(settings.url);
  const hasPassword = shown.includes('***');
  const instanceId = randomUUID();

  const clientOptions = {
    url: settings.url,
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeoutMs },
    socket: {
      connectTimeout: Math.max(commandTimeoutMs, 1000),
      reconnectStrategy: (retries: number): number => Math.min(100 * 2 ** Math.min(retries, 10), maxDelay),
    },
  };
  const client = redis.createClient(clientOptions) as unknown as RedisCommandClient;

  let health: RedisHealth = 'connecting';
  let closed = false;
  let everUp = false;
  const healthListeners = new Set<(health: RedisHealth, reason?: string) => void>();

  const setHealth = (next: RedisHealth, reason?: string): void => {
    if (closed || next === health) return;
    health = next;
    if (next === 'up') {
      log(everUp ? `Redis is back at ${redisEndpointOf(settings.url)}; shared state resumes` : `connected to ${shown}${hasPassword ? ' (password hidden)' : ''}`);
      everUp = true;
    } else if (next === 'down') {
      warn(`Redis unreachable at ${redisEndpointOf(settings.url)} (${reason ?? 'connection lost'}); going on with local state`);
    }
    for (const listener of healthListeners) {
      try {
        listener(next, reason);
      } catch {
        // A listener's failure must not stop the others or the client.
      }
    }
  };

  client.on('ready', () => setHealth('up'));
  client.on('error', (error: unknown) => setHealth('down', reasonOf(error, settings.url)));
  client.on('reconnecting', () => setHealth('down', 'reconnecting'));
  client.on('end', () => setHealth('down', 'connection closed'));
  client.connect().catch(() => undefined);

  // The subscriber opens on first subscribe; each channel has one dispatcher so that node-redis's own
  // resubscription after a reconnect and ours after a failed subscribe never deliver a message twice.
  let subscriber: RedisCommandClient | undefined;
  let subscriberReady = false;
  const channels = new Map<string, { listeners: Set<(message: string) => void>; dispatch: (message: string) => void }>();

  const subscribeOn = async (sub: RedisCommandClient, channel: string): Promise<void> => {
    const entry = channels.get(channel);
    if (entry === undefined) return;
    await sub.subscribe(channel, entry.dispatch);
  };

  const ensureSubscriber = (): RedisCommandClient => {
    if (subscriber !== undefined) return subscriber;
    const sub = client.duplicate() as unknown as RedisCommandClient;
    subscriber = sub;
    sub.on('error', () => {
      subscriberReady = false;
    });
    sub.on('end', () => {
      subscriberReady = false;
    });
    sub.on('ready', () => {
      subscriberReady = true;
      // Channels asked for while it was down; those already subscribed are a no-op in node-redis.
      for (const channel of channels.keys()) subscribeOn(sub, channel).catch(() => undefined);
    });
    sub.connect().catch(() => undefined);
    return sub;
  };

  // node-redis times out each command; this bounds a whole run() too, and raw sendCommand calls,
  // which do not take the client's default command options.
  const guard = <T>(promise: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailable(`Redis did not answer in ${commandTimeoutMs} ms`)), commandTimeoutMs + 250);
      timer.unref();
    });
    return Promise.race([promise, late])
      .catch((error: unknown) => {
        if (error instanceof RedisUnavailable) throw error;
        if (isConnectionError(error) || !client.isReady) {
          throw new RedisUnavailable(`Redis did not answer: ${reasonOf(error, settings.url)}`, { cause: error });
        }
        throw error;
      })
      .finally(() => clearTimeout(timer));
  };

  return {
    settings,
    instanceId,
    get health() {
      return health;
    },
    key: (...parts: string[]) => settings.keyPrefix + parts.join(':'),
    run: <T>(fn: (c: RedisCommandClient) => Promise<T>): Promise<T> => {
      if (closed) return Promise.reject(new RedisUnavailable('the Redis connection is closed'));
      if (health !== 'up' || !client.isReady) return Promise.reject(new RedisUnavailable(`Redis is ${health === 'up' ? 'reconnecting' : health}`));
      let result: Promise<T>;
      try {
        result = fn(client);
      } catch (error) {
        return Promise.reject(error as Error);
      }
      return guard(result);
    },
    subscribe: async (channel, listener) => {
      if (closed) throw new RedisUnavailable('the Redis connection is closed');
      let entry = channels.get(channel);
      const fresh = entry === undefined;
      if (entry === undefined) {
        const listeners = new Set<(message: string) => void>();
        entry = {
          listeners,
          dispatch: (message: string) => {
            for (const each of listeners) {
              try {
                each(message);
              } catch {
                // One listener's failure must not stop the others.
              }
            }
          },
        };
        channels.set(channel, entry);
      }
      entry.listeners.add(listener);
      const sub = ensureSubscriber();
      if (fresh && subscriberReady) await subscribeOn(sub, channel).catch(() => undefined);
      const own = entry;
      return async () => {
        own.listeners.delete(listener);
        if (own.listeners.size > 0 || channels.get(channel) !== own) return;
        channels.delete(channel);
        if (subscriberReady) await sub.unsubscribe(channel, own.dispatch).catch(() => undefined);
      };
    },
    publish: async (channel, message) => {
      if (closed) throw new RedisUnavailable('the Redis connection is closed');
      if (health !== 'up' || !client.isReady) throw new RedisUnavailable(`Redis is ${health}`);
      await guard(client.publish(channel, message));
    },
    onHealth: (listener) => {
      healthListeners.add(listener);
      return () => {
        healthListeners.delete(listener);
      };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      healthListeners.clear();
      channels.clear();
      const end = async (c: RedisCommandClient): Promise<void> => {
        try {
          if (c.isReady) await c.close();
          else c.destroy();
        } catch {
          // Already gone.
        }
      };
      await Promise.all([end(client), subscriber !== undefined ? end(subscriber) : Promise.resolve()]);
    },
  };
}
