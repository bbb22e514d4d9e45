import { ClientConfigError, SuperSimClient } from '../api';
import type { ClientTimeouts, Provider, RetryOptions, SuperSimClientOptions } from '../api';
import { CallbackReceiver, receiveOnce } from '../callbacks';
import type { CallbackRequest, CommandEvent, ReceiverOptions, ReceiverResult, SharedClaimStore } from '../callbacks';
import { MAX_URL_CHARS, blankToUndefined, joinPath, trimTrailing } from '../shared';
import { CallbackHub } from '../tracking';
import type { CommandKind } from '../shared';
import { AnswerDesk } from '../reaching';
import type { AnswerDeskOptions, AnswerListCommands, AnswerSource, CommandResource } from '../reaching';
import { Suggestions } from './picker';

export interface AccountSettings {
  provider?: string;
  supersimUrl?: string;
  wirelessUrl?: string;
  tokenUrl?: string;
  /** KORE's webhook-secrets API; blank means KORE's own (only while the Token URL is KORE's too). */
  webhookUrl?: string;
  callbackBaseUrl?: string;
}

export interface AccountCredentials {
  clientId?: string;
  clientSecret?: string;
  accountSid?: string;
  authToken?: string;
  webhookSecret?: string;
}

/**
 * Tuning an operator may set for every account in settings.js (`supersim: {...}`): the client's
 * timeouts, retries and queue. Absent or malformed values keep the client's defaults.
 */
export interface AccountTuning {
  timeouts?: Partial<ClientTimeouts>;
  retry?: Partial<RetryOptions>;
  maxInFlight?: number;
  maxQueue?: number;
}

function positiveNumbers<T extends object>(value: unknown, keys: readonly (keyof T)[]): Partial<T> | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const out: Partial<T> = {};
  for (const key of keys) {
    const v = (value as Record<string, unknown>)[key as string];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) (out as Record<string, number>)[key as string] = v;
  }
  return out;
}

/** Reads `RED.settings.supersim`, keeping only the values the client can use. */
export function tuningOf(settings: unknown): AccountTuning {
  if (settings === null || typeof settings !== 'object') return {};
  const raw = settings as Record<string, unknown>;
  const whole = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  return {
    timeouts: positiveNumbers<ClientTimeouts>(raw.timeouts, ['connectMs', 'headersMs', 'bodyMs']),
    retry: positiveNumbers<RetryOptions>(raw.retry, ['maxAttempts', 'baseDelayMs', 'maxDelayMs']),
    maxInFlight: whole(raw.maxInFlight),
    maxQueue: whole(raw.maxQueue),
  };
}

/** Maps what the editor stores to the client's options; blank fields fall back to the provider's defaults. */
export function clientOptionsOf(settings: AccountSettings, credentials: AccountCredentials): SuperSimClientOptions {
  const provider = (blankToUndefined(settings.provider) ?? 'kore') as Provider;
  return {
    provider,
    clientId: blankToUndefined(credentials.clientId),
    clientSecret: blankToUndefined(credentials.clientSecret),
    accountSid: blankToUndefined(credentials.accountSid),
    authToken: blankToUndefined(credentials.authToken),
    supersimUrl: blankToUndefined(settings.supersimUrl),
    wirelessUrl: blankToUndefined(settings.wirelessUrl),
    tokenUrl: blankToUndefined(settings.tokenUrl),
    webhookUrl: provider === 'kore' ? blankToUndefined(settings.webhookUrl) : undefined,
  };
}

function definedOnly(tuning: AccountTuning): AccountTuning {
  return Object.fromEntries(Object.entries(tuning).filter(([, value]) => value !== undefined)) as AccountTuning;
}

/** The base URL the provider reaches this Node-RED at, validated; undefined when blank. */
export function normaliseCallbackBaseUrl(value: string | undefined): string | undefined {
  const text = blankToUndefined(value);
  if (text === undefined) return undefined;
  if (text.length > MAX_URL_CHARS) {
    throw new ClientConfigError('callbackBaseUrl', `Public URL has ${text.length} characters; at most ${MAX_URL_CHARS} are allowed. Enter the short base address, e.g. https://nodered.example.com`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClientConfigError('callbackBaseUrl', `Public URL must be an absolute http(s) URL; got ${JSON.stringify(text)}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw new ClientConfigError('callbackBaseUrl', `Public URL must be an http(s) URL without a query; got ${JSON.stringify(text)}`);
  }
  return trimTrailing(text, '/');
}

/** What the account node may add to an account: where poll failures go, and the desk's tuning (tests). */
export interface AccountHooks {
  onAnswerPollError?: (error: Error, simSid: string) => void;
  answers?: Omit<AnswerDeskOptions, 'list' | 'onPollError'>;
  /**
   * Several Node-RED instances: the status route's callbacks are delivered only once this store
   * claims them, so a status retried to another instance is delivered once across all.
   */
  sharedIdempotency?: SharedClaimStore;
}

/**
 * Lists a SIM's commands of one API with the account's client. The client's lists take no signal;
 * an aborted poll stops reading at the next command instead, and a request on the wire ends with the
 * client's timeouts or its close().
 */
export function answerListOf(client: () => SuperSimClient): AnswerListCommands {
  return async function* list(kind: CommandKind, filter): AsyncIterable<CommandResource> {
    const { signal, ...query } = filter;
    if (signal?.aborted) return;
    const listed: AsyncIterable<object> =
      kind === 'ip' ? client().listIpCommands(query) : kind === 'sms' ? client().listSmsCommands(query) : client().listWirelessCommands(query);
    for await (const resource of listed) {
      if (signal?.aborted) return;
      yield resource as CommandResource;
    }
  };
}

/**
 * What one account node owns: the API client shared by every node that uses the account, and the
 * route through which the provider reports the status of commands this account's nodes track.
 */
export class Account {
  readonly id: string;
  readonly provider: Provider;
  /** Where the account was deployed to send its requests: stored secrets go there and nowhere else. */
  readonly endpoints: Readonly<Pick<AccountSettings, 'supersimUrl' | 'wirelessUrl' | 'tokenUrl' | 'webhookUrl'>>;
  readonly callbackBaseUrl: string | undefined;
  /** Why the account cannot be used (missing credentials, a bad URL); undefined when it can. */
  readonly configError: string | undefined;
  readonly hub = new CallbackHub<CommandEvent>();
  /** Commands waiting for their device's answer; command-in and polls feed it. */
  readonly answers: AnswerDesk;
  /** The editor's SIM and Fleet picker, read with this account's client. */
  readonly suggestions = new Suggestions(() => this.client);
  #answerFeeders = 0;
  readonly #client: SuperSimClient | undefined;
  readonly #receiver: CallbackReceiver | undefined;
  readonly #receiverOptions: ReceiverOptions;
  #closing: Promise<void> | undefined;

  constructor(id: string, settings: AccountSettings, credentials: AccountCredentials, tuning: AccountTuning = {}, hooks: AccountHooks = {}) {
    this.id = id;
    const options = { ...clientOptionsOf(settings, credentials), ...definedOnly(tuning) };
    this.provider = options.provider;
    this.endpoints = { supersimUrl: settings.supersimUrl, wirelessUrl: settings.wirelessUrl, tokenUrl: settings.tokenUrl, webhookUrl: settings.webhookUrl };
    let client: SuperSimClient | undefined;
    let callbackBaseUrl: string | undefined;
    let configError: string | undefined;
    try {
      client = new SuperSimClient(options);
      callbackBaseUrl = normaliseCallbackBaseUrl(settings.callbackBaseUrl);
    } catch (err) {
      configError = err instanceof Error ? err.message : String(err);
    }
    this.#client = client;
    this.callbackBaseUrl = callbackBaseUrl;
    this.configError = configError;
    this.#receiverOptions = {
      provider: this.provider,
      authToken: blankToUndefined(credentials.authToken),
      webhookSecret: blankToUndefined(credentials.webhookSecret),
      publicBaseUrl: callbackBaseUrl,
    };
    const shared = hooks.sharedIdempotency && { store: hooks.sharedIdempotency, scope: id };
    if (client && callbackBaseUrl) this.#receiver = new CallbackReceiver({ ...this.#receiverOptions, shared });
    this.answers = new AnswerDesk({ ...hooks.answers, list: answerListOf(() => this.client), onPollError: hooks.onAnswerPollError });
  }

  /**
   * A command-in node on this account says it hands the desk what devices send; the returned
   * function (call it on close) takes that back.
   */
  addAnswerFeeder(): () => void {
    this.#answerFeeders++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#answerFeeders--;
    };
  }

  /**
   * How a command sent now gets its answer: from a command-in node, when the Fleet's callbacks can
   * reach this Node-RED (a Public URL) and one is deployed on this account; else by polling.
   */
  answerSource(): AnswerSource {
    return this.receivesCallbacks && this.#answerFeeders > 0 ? 'callback' : 'poll';
  }

  /**
   * A receiver that checks callbacks as this account's provider signs them: for a webhook node of
   * its own (commands from devices), with its own idempotency memory.
   */
  createReceiver(options: Pick<ReceiverOptions, 'maxBodyBytes' | 'idempotency' | 'shared'> = {}): CallbackReceiver {
    return new CallbackReceiver({ ...this.#receiverOptions, ...options });
  }

  /** The client, or an error that says what to fix in the account node. */
  get client(): SuperSimClient {
    if (!this.#client) throw new ClientConfigError('account', `The Super SIM account is not usable: ${this.configError ?? 'unknown error'}`);
    return this.#client;
  }

  /** The status callback route, relative to Node-RED's httpNodeRoot. */
  get callbackPath(): string {
    return joinPath('supersim', 'status', this.id);
  }

  /** Whether status callbacks can reach this Node-RED: the user gave the public base URL. */
  get receivesCallbacks(): boolean {
    return this.#receiver !== undefined;
  }

  /** A KORE account that takes status callbacks but has no webhook secret: anyone who knows the URL can forge them. */
  get callbacksUnsigned(): boolean {
    return this.receivesCallbacks && this.provider === 'kore' && this.#receiverOptions.webhookSecret === undefined;
  }

  /** The CallbackUrl to give the API, for a Node-RED whose httpNodeRoot is `httpNodeRoot`. */
  callbackUrl(httpNodeRoot: string): string | undefined {
    if (!this.receivesCallbacks || this.callbackBaseUrl === undefined) return undefined;
    return this.callbackBaseUrl + joinPath(httpNodeRoot, this.callbackPath);
  }

  /**
   * Checks a status callback, answered as command-in answers, and hands its event to whoever tracks
   * that command. A promise only with a shared store (hooks.sharedIdempotency), delivered once it claims it.
   */
  handleCallback(request: CallbackRequest): ReceiverResult | Promise<ReceiverResult> {
    if (!this.#receiver) {
      const reason = 'this account does not take status callbacks (no callbackBaseUrl)';
      return { outcome: 'refused', status: 403, reason, answer: reason };
    }
    const result = receiveOnce(this.#receiver, request);
    if (!(result instanceof Promise)) return this.#delivered(result);
    return result.then((claimed) => this.#delivered(claimed));
  }

  #delivered(result: ReceiverResult): ReceiverResult {
    if (result.outcome === 'accepted') this.hub.deliver(result.event);
    return result;
  }

  /** Idempotent: a node closed twice (a failed deploy, then the next) must not fail the second time. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.hub.clear();
      this.answers.close();
      this.suggestions.close();
      await this.#client?.close();
    })();
    return this.#closing;
  }
}
