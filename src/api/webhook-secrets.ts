/**
 * KORE's webhook secrets (kore-webhook-secrets-v1.yaml): the secrets KORE signs callbacks with
 * (`kore-signature`). Their API has its own server, so the account has its own URL for it (the
 * Webhook API URL); it takes JSON, not forms, and pages with `page_number` / `meta_data`.
 */
import type { SecretRedactor } from './config';
import { ClientConfigError, DEFAULT_URLS } from './config';
import type { CallOptions, Requests } from './requests';
import { MAX_PAGE_SIZE, pageSizeUpTo } from './requests';
import type { CreateWebhookSecretParams, CreatedWebhookSecret, ListWebhookSecretsFilter, Provider, WebhookSecret } from './types';

export interface WebhookAccount {
  provider: Provider;
  /** False when the Webhook API URL may not be defaulted (a Token URL that is not KORE's). */
  configured: boolean;
  redactor: SecretRedactor;
}

/** Why this account cannot use the webhook-secrets API, or undefined when it can. */
function refusal(account: WebhookAccount): ClientConfigError | undefined {
  if (account.provider !== 'kore') {
    return new ClientConfigError(
      'provider',
      "Webhook secrets are a KORE Wireless feature, and this account's Provider is Twilio: Twilio signs callbacks with the Auth Token, so there is no webhook secret to create or list",
    );
  }
  if (!account.configured) {
    return new ClientConfigError(
      'webhookUrl',
      `Set the Webhook API URL of the account node: its Token URL is not KORE's own, so KORE's webhook API (${DEFAULT_URLS.kore.webhookUrl}) is not used without being named`,
    );
  }
  return undefined;
}

export async function createWebhookSecret(requests: Requests, account: WebhookAccount, params: CreateWebhookSecretParams, options: CallOptions): Promise<CreatedWebhookSecret> {
  const refused = refusal(account);
  if (refused) throw refused;
  if (typeof params?.name !== 'string' || params.name.trim() === '') throw new ClientConfigError('name', 'A webhook secret needs a name');
  const created = await requests.call<CreatedWebhookSecret>({
    operation: 'createWebhookSecret',
    method: 'POST',
    api: 'webhook',
    path: '/v1/secrets',
    body: JSON.stringify({ Name: params.name }),
    contentType: 'application/json',
    idempotent: false,
    expectBody: true,
    authenticate: true,
    signal: options.signal,
  });
  // From now on no error of this client may quote it, whatever a server echoes.
  if (typeof created?.secret === 'string') account.redactor.addWithEncodings(created.secret);
  return created;
}

export async function* listWebhookSecrets(requests: Requests, account: WebhookAccount, filter: ListWebhookSecretsFilter, options: CallOptions): AsyncIterableIterator<WebhookSecret> {
  const refused = refusal(account);
  if (refused) throw refused;
  yield* requests.list<WebhookSecret>({
    operation: 'listWebhookSecrets',
    api: 'webhook',
    path: '/v1/secrets',
    key: 'data',
    metaKey: 'meta_data',
    query: { status: filter.status, page_size: pageSizeUpTo(MAX_PAGE_SIZE.webhookSecrets, filter.pageSize) },
    signal: options.signal,
  });
}
