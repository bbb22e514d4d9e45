import type { TokenResponse } from './types';

/** Supplies the Authorization header of each request. */
export interface Authenticator {
  /** Synchronous when the answer is at hand (Basic, a cached token), so the hot path awaits nothing extra. */
  authorization(): string | Promise<string>;
  /**
   * Drops the credential a 401 was answered to. Returns true when a fresh one can be had, so the
   * request is worth one more try.
   */
  invalidate(rejectedAuthorization: string): boolean;
}

export class BasicAuthenticator implements Authenticator {
  readonly #header: string;

  constructor(username: string, password: string) {
    this.#header = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  }

  authorization(): string {
    return this.#header;
  }

  invalidate(): boolean {
    // Basic credentials do not change by asking again.
    return false;
  }

  /** The encoded header is as secret as the password it carries. */
  get headerValue(): string {
    return this.#header;
  }
}

export interface TokenCacheOptions {
  /** Refresh this long before the token expires, so no request goes out with a token about to lapse. */
  refreshMarginMs: number;
  now?: () => number;
  /** Told of every token obtained, so errors can be scrubbed of it (old ones too: an error may still quote one). */
  onToken?: (token: string) => void;
}

/**
 * OAuth2 client-credentials token cache: one token shared by every request of the account, one fetch
 * at a time however many requests need it at once.
 */
export class TokenCache implements Authenticator {
  readonly #fetchToken: () => Promise<TokenResponse>;
  readonly #options: TokenCacheOptions;
  readonly #now: () => number;
  #header: string | undefined;
  #refreshAt = 0;
  #pending: Promise<string> | undefined;
  #fetches = 0;

  constructor(fetchToken: () => Promise<TokenResponse>, options: TokenCacheOptions) {
    this.#fetchToken = fetchToken;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** How many token requests were made: a measure the benchmarks and tests read. */
  get fetches(): number {
    return this.#fetches;
  }

  authorization(): string | Promise<string> {
    if (this.#header !== undefined && this.#now() < this.#refreshAt) return this.#header;
    return this.#pending ?? (this.#pending = this.#refresh());
  }

  invalidate(rejectedAuthorization: string): boolean {
    // Only the first of many requests rejected with the same token drops it; the rest reuse the new one.
    if (rejectedAuthorization === this.#header) this.#drop();
    return true;
  }

  /** Fetches a new token now, whatever is cached: used to check credentials. */
  async refreshNow(): Promise<void> {
    this.#drop();
    await this.authorization();
  }

  #drop(): void {
    this.#header = undefined;
    this.#refreshAt = 0;
  }

  async #refresh(): Promise<string> {
    try {
      this.#fetches++;
      const startedAt = this.#now();
      const answer = await this.#fetchToken();
      const lifetimeMs = Math.max(0, answer.expires_in * 1000);
      // Short-lived tokens get a proportionate margin, so a 60 s token is not refreshed on every call.
      const margin = Math.min(this.#options.refreshMarginMs, lifetimeMs / 10);
      this.#drop();
      this.#options.onToken?.(answer.access_token);
      this.#header = `Bearer ${answer.access_token}`;
      this.#refreshAt = startedAt + lifetimeMs - margin;
      return this.#header;
    } finally {
      this.#pending = undefined;
    }
  }
}
