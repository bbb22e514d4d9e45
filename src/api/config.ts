/**
 * What a client is configured with, checked once when it is made: the provider, its API URLs and
 * the credentials, turned into the authenticator that signs each request and the redactor that
 * keeps those credentials out of every error.
 */
import type { Dispatcher } from 'undici';
import { BasicAuthenticator, TokenCache } from './auth';
import type { Authenticator } from './auth';
import type { RetryOptions } from './retry';
import type { ClientTimeouts } from './transport';
import type { Provider, TokenResponse } from './types';
import { MAX_URL_CHARS, trimTrailing } from '../shared';

export const DEFAULT_URLS: Readonly<Record<Provider, { supersimUrl: string; wirelessUrl: string; tokenUrl?: string; webhookUrl?: string }>> = {
  kore: {
    supersimUrl: 'https://supersim.api.korewireless.com',
    wirelessUrl: 'https://programmable-wireless.api.korewireless.com',
    tokenUrl: 'https://api.korewireless.com/api-services/v1/auth/token',
    // The server kore-webhook-secrets-v1.yaml names: webhook secrets live outside both product APIs.
    webhookUrl: 'https://webhook.api.korewireless.com',
  },
  twilio: {
    supersimUrl: 'https://supersim.twilio.com',
    wirelessUrl: 'https://wireless.twilio.com',
  },
};

export interface SuperSimClientOptions {
  provider: Provider;
  /** KORE OAuth2 client credentials. */
  clientId?: string;
  clientSecret?: string;
  /** Twilio Account SID and Auth Token. */
  accountSid?: string;
  authToken?: string;
  /** Blank or undefined means the provider's default. */
  supersimUrl?: string;
  wirelessUrl?: string;
  tokenUrl?: string;
  /**
   * KORE's webhook-secrets API. Blank means KORE's own, but only while the Token URL is KORE's own
   * too: a token from another server is never sent to KORE.
   */
  webhookUrl?: string;
  /** Requests of this account in flight at once; the rest wait in the queue. */
  maxInFlight?: number;
  /** Requests that may wait; past it a call fails at once. */
  maxQueue?: number;
  retry?: Partial<RetryOptions>;
  timeouts?: Partial<ClientTimeouts>;
  /** Refresh a KORE token this long before it expires (less for short-lived tokens). */
  tokenRefreshMarginMs?: number;
  /**
   * Sends every request, to every origin, instead of the client's own pools: an undici `MockAgent`
   * in tests, or an agent of your own (a proxy, say). The caller owns it: close() leaves it open.
   * Its own connect timeout applies; the client still sets the header and body timeouts.
   */
  dispatcher?: Dispatcher;
}

export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** The places a client sends requests to. */
export type ApiName = 'supersim' | 'wireless' | 'token' | 'webhook';

export interface Endpoint {
  origin: string;
  basePath: string;
}

export type Endpoints = Readonly<Record<ApiName, Endpoint | undefined>>;

export interface ClientUrls {
  provider: Provider;
  supersimUrl: string;
  wirelessUrl: string;
  tokenUrl: string | undefined;
  /** Undefined for Twilio, and for KORE when it may not be defaulted (see SuperSimClientOptions). */
  webhookUrl: string | undefined;
  endpoints: Endpoints;
}

/** The provider and its URLs, each checked: the first one wrong throws the ClientConfigError that names it. */
export function resolveUrls(options: SuperSimClientOptions): ClientUrls {
  const provider = options.provider;
  if (provider !== 'kore' && provider !== 'twilio') {
    throw new ClientConfigError('provider', `The Provider must be KORE Wireless or Twilio; got ${JSON.stringify(provider)}`);
  }
  const defaults = DEFAULT_URLS[provider];
  const supersimUrl = pickUrl('supersimUrl', options.supersimUrl, defaults.supersimUrl);
  const wirelessUrl = pickUrl('wirelessUrl', options.wirelessUrl, defaults.wirelessUrl);
  const tokenUrl = provider === 'kore' ? pickUrl('tokenUrl', options.tokenUrl, defaults.tokenUrl as string) : undefined;
  let webhookUrl: string | undefined;
  if (provider === 'kore') {
    const blank = options.webhookUrl === undefined || options.webhookUrl.trim() === '';
    if (!blank || tokenUrl === defaults.tokenUrl) webhookUrl = pickUrl('webhookUrl', options.webhookUrl, defaults.webhookUrl as string);
  }
  return {
    provider,
    supersimUrl,
    wirelessUrl,
    tokenUrl,
    webhookUrl,
    endpoints: {
      supersim: endpointOf(supersimUrl),
      wireless: endpointOf(wirelessUrl),
      token: tokenUrl === undefined ? undefined : endpointOf(tokenUrl),
      webhook: webhookUrl === undefined ? undefined : endpointOf(webhookUrl),
    },
  };
}

export interface Credentials {
  auth: Authenticator;
  /** KORE only. */
  tokenCache?: TokenCache;
  /** KORE only: the form the token request posts, credentials included. */
  tokenRequestBody?: string;
}

/**
 * The authenticator for the provider's credentials, each registered with the redactor in every
 * form a server might echo it in. `fetchToken` is how a KORE token is obtained when one is needed.
 */
export function credentialsFor(options: SuperSimClientOptions, redactor: SecretRedactor, fetchToken: () => Promise<TokenResponse>): Credentials {
  if (options.provider === 'kore') {
    const clientId = requireCredential('clientId', options.clientId, 'KORE accounts need a Client ID');
    const clientSecret = requireCredential('clientSecret', options.clientSecret, 'KORE accounts need a Client Secret');
    redactor.addWithEncodings(clientSecret);
    const tokenRequestBody = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    }).toString();
    redactor.add(tokenRequestBody);
    const tokenCache = new TokenCache(fetchToken, {
      refreshMarginMs: options.tokenRefreshMarginMs ?? 60_000,
      onToken: (token) => redactor.add(token),
      // Old tokens stay redacted: an error may still quote one after it was replaced.
    });
    return { auth: tokenCache, tokenCache, tokenRequestBody };
  }
  const accountSid = requireCredential('accountSid', options.accountSid, 'Twilio accounts need an Account SID');
  const authToken = requireCredential('authToken', options.authToken, 'Twilio accounts need an Auth Token');
  redactor.addWithEncodings(authToken);
  const basic = new BasicAuthenticator(accountSid, authToken);
  redactor.add(basic.headerValue.slice('Basic '.length));
  return { auth: basic };
}

/**
 * Replaces every known secret in a text that came from outside (an API message, a body snippet),
 * since a server may echo what it was sent.
 */
export class SecretRedactor {
  readonly #secrets = new Set<string>();

  add(secret: string | undefined): void {
    // Very short values would redact ordinary words; real secrets are long.
    if (secret && secret.length >= 6) this.#secrets.add(secret);
  }

  /** The secret as it is, and as a form or a URL would carry it, since a server may echo either. */
  addWithEncodings(secret: string): void {
    this.add(secret);
    this.add(encodeURIComponent(secret));
    this.add(new URLSearchParams({ s: secret }).toString().slice(2));
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    }
    return out;
  }
}

/** The account node's URL fields by their editor labels: what an error about one of them names. */
const URL_FIELDS: Readonly<Record<string, string>> = { supersimUrl: 'Super SIM API URL', wirelessUrl: 'Wireless API URL', tokenUrl: 'Token URL', webhookUrl: 'Webhook API URL' };

/** The account node's field that holds the URL of an API, by its editor label. */
export function urlFieldOf(api: ApiName): string {
  return URL_FIELDS[`${api}Url`];
}

function pickUrl(field: string, value: string | undefined, fallback: string): string {
  const label = URL_FIELDS[field] ?? field;
  const chosen = value === undefined || value.trim() === '' ? fallback : value.trim();
  if (chosen.length > MAX_URL_CHARS) {
    throw new ClientConfigError(field, `The ${label} is ${chosen.length} characters long; at most ${MAX_URL_CHARS} are accepted. Enter the API's base URL, or leave it blank for the provider's own`);
  }
  let url: URL;
  try {
    url = new URL(chosen);
  } catch {
    throw new ClientConfigError(field, `The ${label} must be an absolute http:// or https:// URL, or blank for the provider's own; got ${JSON.stringify(chosen)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ClientConfigError(field, `The ${label} must start with http:// or https://; got ${url.protocol}`);
  }
  if (url.username || url.password) {
    // Credentials belong in the account node's credentials, where they are stored encrypted.
    throw new ClientConfigError(field, `The ${label} must not carry a user name or password: enter the credentials in their own fields`);
  }
  return trimTrailing(chosen, '/');
}

function endpointOf(url: string): Endpoint {
  const parsed = new URL(url);
  return { origin: parsed.origin, basePath: trimTrailing(parsed.pathname, '/') };
}

function requireCredential(field: string, value: string | undefined, message: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ClientConfigError(field, message);
  return value.trim();
}
