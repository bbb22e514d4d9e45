import type { SimulatorStats } from './types';

/**
 * Distinct method+path pairs counted; instance paths carry a SID each, so a benchmark that fetches every
 * command it creates would otherwise grow this map without bound.
 */
const MAX_COUNTED_PATHS = 50_000;

export class Stats implements SimulatorStats {
  requests = 0;
  tokenRequests = 0;
  readonly created = { ip: 0, sms: 0, wireless: 0 };
  readonly callbacks = { sent: 0, failed: 0 };
  readonly #byRoute = new Map<string, number>();

  count(method: string, path: string): number {
    return this.#byRoute.get(method.toUpperCase() + ' ' + path) ?? 0;
  }

  record(method: string, path: string): void {
    this.requests++;
    const key = method + ' ' + path;
    const seen = this.#byRoute.get(key);
    if (seen !== undefined) this.#byRoute.set(key, seen + 1);
    else if (this.#byRoute.size < MAX_COUNTED_PATHS) this.#byRoute.set(key, 1);
  }

  reset(): void {
    // In place, so a test holding `stats.created` or `stats.callbacks` keeps seeing live numbers.
    this.requests = 0;
    this.tokenRequests = 0;
    this.created.ip = this.created.sms = this.created.wireless = 0;
    this.callbacks.sent = this.callbacks.failed = 0;
    this.#byRoute.clear();
  }
}
