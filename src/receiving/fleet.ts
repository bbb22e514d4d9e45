import { ApiError } from '../api';
import type { Fleet, HttpMethod, UpdateFleetParams } from '../api';
import { webhookPathProblem, webhookPublicUrl } from './path';

/** What the editor's "Point a Fleet at this node" shows of a fleet. */
export interface FleetView {
  sid: string;
  unique_name: string | null;
  ip_commands_url: string | null;
  ip_commands_method: HttpMethod;
  sms_commands_url: string | null;
  sms_commands_method: HttpMethod;
}

export interface FleetAnswer {
  fleet: FleetView;
  /** The URL the fleet is (to be) pointed at: this node's public URL; null when no path was given. */
  target: string | null;
}

/** The part of the deployed account the set-up uses (an `Account`). */
export interface FleetAccount {
  readonly provider: 'kore' | 'twilio';
  readonly configError: string | undefined;
  readonly callbackBaseUrl: string | undefined;
  readonly client: {
    fetchFleet(sidOrUniqueName: string): Promise<Fleet>;
    updateFleet(sidOrUniqueName: string, params: UpdateFleetParams): Promise<Fleet>;
  };
}

export interface FleetQuery {
  account: string;
  fleet: string;
  url?: string;
}

export interface FleetUpdate {
  account: string;
  fleet: string;
  url: string;
  ip: boolean;
  sms: boolean;
  method: HttpMethod;
}

/** A request the set-up cannot carry out, in words for the dialog; `status`/`code` are the API's when it refused. */
export class FleetSetupError extends Error {
  override readonly name = 'FleetSetupError';
  constructor(
    message: string,
    readonly apiStatus?: number,
    readonly apiCode?: number,
  ) {
    super(message);
  }

  toJSON(): { message: string; status?: number; code?: number } {
    return { message: this.message, status: this.apiStatus, code: this.apiCode };
  }
}

const MAX_FLEET_CHARS = 128;

/** A required text field of a set-up request, trimmed. */
export function requiredText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new FleetSetupError(`${name} is missing`);
  return value.trim();
}

function fleetId(value: unknown): string {
  const id = requiredText(value, 'The Fleet SID or unique name');
  // eslint-disable-next-line no-control-regex
  if (id.length > MAX_FLEET_CHARS || /[\u0000-\u001f\u007f]/.test(id)) {
    throw new FleetSetupError('The Fleet must be given by its SID (HF followed by 32 hex digits) or its unique name');
  }
  return id;
}

/** The node's webhook path as a set-up request gives it. */
export function setupPath(value: unknown): string {
  const problem = webhookPathProblem(value);
  if (problem !== undefined) throw new FleetSetupError(`This node's URL cannot be used: ${problem}`);
  return value as string;
}

/** `GET …/fleet?account=&fleet=&url=` */
export function readFleetQuery(query: Record<string, unknown>): FleetQuery {
  const read: FleetQuery = { account: requiredText(query.account, 'The account'), fleet: fleetId(query.fleet) };
  if (query.url !== undefined && query.url !== '') read.url = setupPath(query.url);
  return read;
}

/** `POST …/fleet` with a JSON body. */
export function readFleetUpdate(body: unknown): FleetUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FleetSetupError('The request body must be a JSON object');
  const fields = body as Record<string, unknown>;
  for (const name of ['ip', 'sms'] as const) {
    if (fields[name] !== undefined && typeof fields[name] !== 'boolean') throw new FleetSetupError(`${name} must be true or false`);
  }
  const ip = fields.ip === true;
  const sms = fields.sms === true;
  if (!ip && !sms) throw new FleetSetupError('Choose what to point at this node: IP Commands, SMS Commands or both');
  const method = fields.method ?? 'POST';
  if (method !== 'POST' && method !== 'GET') throw new FleetSetupError('method must be POST or GET');
  return { account: requiredText(fields.account, 'The account'), fleet: fleetId(fields.fleet), url: setupPath(fields.url), ip, sms, method };
}

export function fleetViewOf(fleet: Fleet): FleetView {
  return {
    sid: fleet.sid,
    unique_name: fleet.unique_name,
    ip_commands_url: fleet.ip_commands_url,
    ip_commands_method: fleet.ip_commands_method,
    sms_commands_url: fleet.sms_commands_url,
    sms_commands_method: fleet.sms_commands_method,
  };
}

/** The part of an account every set-up needs, whatever it points at this node. */
export type SetupAccount = Pick<FleetAccount, 'provider' | 'configError' | 'callbackBaseUrl'>;

/** The account and base URL to use, or the error that says what to set up first. */
export function usableAccount<A extends SetupAccount>(account: A | undefined, httpNodeRoot: string | false): { account: A; base: string; root: string } {
  if (account === undefined) {
    throw new FleetSetupError('The selected account is not deployed yet: deploy the flow first (the set-up uses the deployed account), then try again');
  }
  if (account.configError !== undefined) throw new FleetSetupError(`The deployed account cannot be used: ${account.configError}`);
  if (httpNodeRoot === false) {
    throw new FleetSetupError('This Node-RED serves no HTTP nodes (httpNodeRoot is false in its settings), so no provider can reach this node');
  }
  if (account.callbackBaseUrl === undefined) {
    throw new FleetSetupError(
      'The account has no Public URL, and the provider can only call a public address. Open the account node, set Public URL ' +
        '(Advanced tab) to the address at which the provider reaches this Node-RED, e.g. https://nodered.example.com, or the URL of ' +
        'a tunnel such as ngrok or Cloudflare Tunnel when Node-RED is not reachable from the internet, then deploy and try again',
    );
  }
  return { account, base: account.callbackBaseUrl, root: httpNodeRoot };
}

export function setupRefused(err: unknown): never {
  // The client's message already leads with what to do and carries the status and code.
  if (err instanceof ApiError) throw new FleetSetupError(err.message, err.status, err.code);
  throw err;
}

/** The fleet as it is, and the URL this node would give it. */
export async function showFleet(account: FleetAccount | undefined, httpNodeRoot: string | false, query: FleetQuery): Promise<FleetAnswer> {
  const { account: ready, base, root } = usableAccount(account, httpNodeRoot);
  const fleet = await ready.client.fetchFleet(query.fleet).catch(setupRefused);
  return { fleet: fleetViewOf(fleet), target: query.url === undefined ? null : webhookPublicUrl(base, root, query.url) };
}

/** Points the fleet's IP and/or SMS Commands webhook at this node's public URL; answers the fleet as updated. */
export async function pointFleet(account: FleetAccount | undefined, httpNodeRoot: string | false, update: FleetUpdate): Promise<FleetAnswer> {
  const { account: ready, base, root } = usableAccount(account, httpNodeRoot);
  if (ready.provider === 'kore' && update.method === 'GET') {
    // command-in refuses them on an account with a webhook secret, and nothing checks them on one without.
    throw new FleetSetupError('KORE does not sign GET callbacks, so they cannot be verified: choose POST as the method');
  }
  const target = webhookPublicUrl(base, root, update.url);
  const params: UpdateFleetParams = {};
  if (update.ip) {
    params.ipCommandsUrl = target;
    params.ipCommandsMethod = update.method;
  }
  if (update.sms) {
    params.smsCommandsUrl = target;
    params.smsCommandsMethod = update.method;
  }
  const fleet = await ready.client.updateFleet(update.fleet, params).catch(setupRefused);
  return { fleet: fleetViewOf(fleet), target };
}
