import { ApiError, SuperSimClient } from '../api';
import type { Provider, SuperSimClientOptions } from '../api';
import { MAX_URL_CHARS, trimTrailing } from '../shared';
import { clientOptionsOf } from './account';
import type { AccountCredentials, AccountSettings } from './account';

/**
 * The editor's "Test connection": what it may test with which credentials at which URLs, and what
 * it answers. Stored secrets only ever go to the URLs they were deployed with: otherwise anyone who
 * can reach the route (a cross-site form, on a Node-RED without adminAuth) could have the runtime
 * send the deployed Client Secret or Auth Token to a host of their choosing.
 */

/** What the editor sends for a password field left unchanged since deploy. */
export const UNCHANGED_SECRET = '__PWRD__';

const URL_FIELDS = ['supersimUrl', 'wirelessUrl', 'tokenUrl', 'webhookUrl'] as const;
type UrlField = (typeof URL_FIELDS)[number];

/** The fields as the account dialog labels them, for messages the user reads there. */
const URL_LABELS: Record<UrlField, string> = { supersimUrl: 'Super SIM API', wirelessUrl: 'Wireless API', tokenUrl: 'Token URL', webhookUrl: 'Webhook API URL' };
const PROVIDER_LABELS: Record<Provider, string> = { kore: 'KORE Wireless', twilio: 'Twilio' };
const CREDENTIALS_OF: Record<Provider, readonly ('clientId' | 'clientSecret' | 'accountSid' | 'authToken')[]> = {
  kore: ['clientId', 'clientSecret'],
  twilio: ['accountSid', 'authToken'],
};
const SECRET_LABELS: Record<Provider, string> = { kore: 'Client Secret', twilio: 'Auth Token' };

/** A node that Node-RED runs under the id the request names. */
export interface DeployedNode {
  type: string;
  /** The deployed account's settings; undefined for a node that is not an account. */
  settings?: AccountSettings;
  credentials?: AccountCredentials;
}

export interface ConnectionTestRequest {
  /** Whether the body came as JSON: a form body is what a cross-site page can send, so it is refused. */
  isJson: boolean;
  body: unknown;
}

export type ConnectionTestPlan =
  | {
      ok: true;
      options: SuperSimClientOptions;
      /** `form`: everything as typed; `deployed`: a stored secret with the deployed provider and URLs. */
      tested: 'form' | 'deployed';
      /** True when the form's URLs differ from the deployed ones that were used instead. */
      formIgnored: boolean;
    }
  | { ok: false; status: 400 | 415; message: string };

function refuse(status: 400 | 415, message: string): ConnectionTestPlan {
  return { ok: false, status, message };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function providerOf(value: unknown): Provider | undefined {
  if (value === undefined || value === null) return 'kore';
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return 'kore';
  return text === 'kore' || text === 'twilio' ? text : undefined;
}

/** Blank and a trailing slash do not make another URL. */
function sameUrl(a: string | undefined, b: string | undefined): boolean {
  const norm = (v: string | undefined): string => trimTrailing((v ?? '').trim(), '/');
  return norm(a) === norm(b);
}

/**
 * Decides what a Test connection request may do, without doing it: which provider, URLs and
 * credentials to try, or which status and message refuse it. `findDeployed` is asked only when the
 * request relies on a stored secret.
 */
export function planConnectionTest(request: ConnectionTestRequest, findDeployed: (id: string) => DeployedNode | undefined): ConnectionTestPlan {
  if (!request.isJson) return refuse(415, 'Test connection takes a JSON body (Content-Type: application/json); nothing was tested.');
  const body = request.body;
  if (!isRecord(body)) return refuse(400, 'Test connection needs a JSON object with the account’s fields; nothing was tested.');

  const urls: Partial<Record<UrlField, string>> = {};
  for (const field of URL_FIELDS) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return refuse(400, `${URL_LABELS[field]} must be a URL or blank; nothing was tested.`);
    // Checked before anything else reads the text, so no later step sees an unbounded URL.
    if (value.length > MAX_URL_CHARS) {
      return refuse(
        400,
        `${URL_LABELS[field]} has ${value.length} characters; URLs longer than ${MAX_URL_CHARS} are refused. Shorten it and test again; nothing was tested.`,
      );
    }
    urls[field] = value;
  }

  const provider = providerOf(body.provider);
  if (provider === undefined) return refuse(400, 'Provider must be KORE Wireless or Twilio; nothing was tested.');
  if (body.credentials !== undefined && body.credentials !== null && !isRecord(body.credentials)) {
    return refuse(400, 'The credentials must be sent as a JSON object; nothing was tested.');
  }
  const typed = isRecord(body.credentials) ? body.credentials : {};
  // Only the fields this provider uses: the other provider's, hidden in the dialog, are never sent anywhere.
  const names = CREDENTIALS_OF[provider];
  const credentials: AccountCredentials = {};
  for (const name of names) {
    const value = typed[name];
    credentials[name] = typeof value === 'string' ? value : undefined;
  }
  const settings: AccountSettings = { provider, ...urls };

  if (!names.some((name) => credentials[name] === UNCHANGED_SECRET)) {
    return { ok: true, options: clientOptionsOf(settings, credentials), tested: 'form', formIgnored: false };
  }

  const secret = SECRET_LABELS[provider];
  const deployed = typeof body.id === 'string' && body.id !== '' ? findDeployed(body.id) : undefined;
  if (deployed?.type !== 'supersim-account' || deployed.settings === undefined) {
    return refuse(
      400,
      `The ${secret} was left unchanged, but this account is not deployed, so there is no stored value to test with: deploy the account first, or type the ${secret} again.`,
    );
  }
  const deployedProvider = providerOf(deployed.settings.provider) ?? 'kore';
  if (deployedProvider !== provider) {
    return refuse(
      400,
      `The stored ${secret} belongs to the deployed account, which uses ${PROVIDER_LABELS[deployedProvider]}: deploy the account first, or type the ${secret} again to test ${PROVIDER_LABELS[provider]}.`,
    );
  }
  const stored = deployed.credentials ?? {};
  for (const name of names) {
    if (credentials[name] === UNCHANGED_SECRET) credentials[name] = stored[name];
  }
  const deployedSettings: AccountSettings = {
    provider,
    supersimUrl: deployed.settings.supersimUrl,
    wirelessUrl: deployed.settings.wirelessUrl,
    tokenUrl: deployed.settings.tokenUrl,
    webhookUrl: deployed.settings.webhookUrl,
  };
  const compared: UrlField[] = provider === 'kore' ? ['supersimUrl', 'wirelessUrl', 'tokenUrl', 'webhookUrl'] : ['supersimUrl', 'wirelessUrl'];
  const formIgnored = compared.some((field) => !sameUrl(urls[field], deployedSettings[field]));
  return { ok: true, options: clientOptionsOf(deployedSettings, credentials), tested: 'deployed', formIgnored };
}

export type ConnectionTestOutcome = 'works' | 'bad-credentials' | 'unreachable' | 'error';

export interface ConnectionTestAnswer {
  result: ConnectionTestOutcome;
  message: string;
  tested: 'form' | 'deployed';
  formIgnored: boolean;
  /** The URL the test called (KORE: the token endpoint; Twilio: the Super SIM API), when it got that far. */
  testedUrl?: string;
}

/**
 * What an error says, in words: never the body of whatever answered (the URL may be any host, and
 * echoing its page would make the route a probe of the internal network), never internal names.
 */
function describeFailure(err: unknown, provider: Provider, url: string, field: UrlField): { result: ConnectionTestOutcome; message: string } {
  const label = URL_LABELS[field];
  if (!(err instanceof ApiError)) return { result: 'error', message: 'The test could not run; the Node-RED log may say more.' };
  const status = err.status !== undefined ? `HTTP ${err.status}${err.code !== undefined ? `, code ${err.code}` : ''}` : undefined;
  // The client counts every 4xx of the token endpoint as refused credentials; a 404 there is a wrong URL.
  const refusedCredentials = err.kind === 'auth' && (err.status === undefined || err.status === 400 || err.status === 401 || err.status === 403);
  switch (refusedCredentials ? 'auth' : err.kind === 'auth' ? 'api' : err.kind) {
    case 'auth':
      return {
        result: 'bad-credentials',
        message: `${url} refused the credentials (${status ?? 'no status'}): check the ${provider === 'kore' ? 'Client ID and Client Secret' : 'Account SID and Auth Token'}.`,
      };
    case 'network':
      return { result: 'unreachable', message: `Could not reach ${url} (${err.networkCode ?? 'network error'}): check the ${label} and that the host is reachable.` };
    case 'timeout':
      return { result: 'unreachable', message: `No answer from ${url} in time (${err.networkCode ?? 'timeout'}): check the ${label} and that the host is reachable.` };
    case 'api':
      return {
        result: 'error',
        message:
          err.code !== undefined
            ? `${url} answered ${status}: check the ${label}.`
            : `${url} answered ${status ?? 'with an error'}, which is not how the ${field === 'tokenUrl' ? 'KORE token endpoint' : 'Super SIM API'} answers: check the ${label}.`,
      };
    case 'invalid-response':
      return {
        result: 'error',
        message: `${url} answered${err.status !== undefined ? ` HTTP ${err.status}` : ''}, but not as the ${field === 'tokenUrl' ? 'KORE token endpoint' : 'Super SIM API'} does: check the ${label}.`,
      };
    default:
      return { result: 'error', message: 'The test could not run; try again.' };
  }
}

/**
 * Tries the planned credentials with the cheapest call there is, on a client of its own with short
 * timeouts and no retries, so the editor's "Test connection" answers within seconds.
 */
export async function testConnection(plan: Extract<ConnectionTestPlan, { ok: true }>): Promise<ConnectionTestAnswer> {
  const { options, tested, formIgnored } = plan;
  let client: SuperSimClient;
  try {
    client = new SuperSimClient({
      ...options,
      maxInFlight: 1,
      maxQueue: 0,
      retry: { maxAttempts: 1 },
      timeouts: { connectMs: 5_000, headersMs: 10_000, bodyMs: 10_000 },
    });
  } catch (err) {
    // A missing credential or an unusable URL: the message says which field, and holds no secret.
    return { result: 'error', message: err instanceof Error ? err.message : String(err), tested, formIgnored };
  }
  // KORE's check is getting an access token; Twilio's is listing one Fleet.
  const field: UrlField = client.provider === 'kore' ? 'tokenUrl' : 'supersimUrl';
  const testedUrl = (field === 'tokenUrl' ? client.tokenUrl : client.supersimUrl) ?? '';
  try {
    await client.verifyCredentials();
    return {
      result: 'works',
      message: `The ${PROVIDER_LABELS[client.provider]} credentials were accepted by ${testedUrl}.`,
      tested,
      formIgnored,
      testedUrl,
    };
  } catch (err) {
    return { ...describeFailure(err, client.provider, testedUrl, field), tested, formIgnored, testedUrl };
  } finally {
    await client.destroy();
  }
}
