/**
 * command-in's "Point Wireless SIMs at this node": a Programmable Wireless SIM reports the Commands
 * it sends to its own Commands Callback URL, not to a Fleet's, so each SIM is updated. Always POST:
 * KORE signs no GET callback, and nothing this package sets up asks for one.
 */
import type { UpdateWirelessSimParams, WirelessSim } from '../api';
import { FleetSetupError, requiredText, setupPath, setupRefused, usableAccount } from './fleet';
import type { SetupAccount } from './fleet';
import { webhookPublicUrl } from './path';

/** The part of the deployed account this set-up uses (an `Account`). */
export interface WirelessSetupAccount extends SetupAccount {
  readonly client: {
    updateWirelessSim(sidOrUniqueName: string, params: UpdateWirelessSimParams): Promise<WirelessSim>;
    listWirelessSims(filter: object, options?: { signal?: AbortSignal }): AsyncIterable<WirelessSim>;
  };
}

export interface WirelessSimsUpdate {
  account: string;
  url: string;
  /** One SIM (SID or unique name), or undefined with `all`. */
  sim?: string;
  all: boolean;
}

export interface WirelessSimView {
  sid: string | null;
  unique_name: string | null;
  commands_callback_url: string | null;
  commands_callback_method: string | null;
}

export interface WirelessSimsAnswer {
  target: string;
  /** How many SIMs now report to `target`. */
  updated: number;
  /** The first of them (at most SHOWN_SIMS), for the dialog. */
  sims: WirelessSimView[];
  /** How many SIMs the API refused to update. */
  failures: number;
  /** The first of them (at most SHOWN_SIMS), with the API's message. */
  failed: { sim: string; message: string }[];
}

/** What the dialog lists at most; the counts cover all. */
export const SHOWN_SIMS = 20;
/** "All" stops here: an account with more SIMs is set up in parts, or by a flow. */
export const MAX_WIRELESS_SIMS = 10_000;
const MAX_SIM_CHARS = 128;

/** `POST …/wireless-sims` with a JSON body `{account, url, sim}` or `{account, url, all: true}`. */
export function readWirelessSimsUpdate(body: unknown): WirelessSimsUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FleetSetupError('The request body must be a JSON object');
  const fields = body as Record<string, unknown>;
  if (fields.all !== undefined && typeof fields.all !== 'boolean') throw new FleetSetupError('all must be true or false');
  const all = fields.all === true;
  const update: WirelessSimsUpdate = { account: requiredText(fields.account, 'The account'), url: setupPath(fields.url), all };
  if (all) {
    if (fields.sim !== undefined && fields.sim !== '') throw new FleetSetupError('Give either one SIM or all of them, not both');
    return update;
  }
  const sim = requiredText(fields.sim, "The Wireless SIM's SID or unique name (or all of the account's SIMs)");
  // eslint-disable-next-line no-control-regex
  if (sim.length > MAX_SIM_CHARS || /[\u0000-\u001f\u007f/]/.test(sim)) throw new FleetSetupError('The Wireless SIM must be given by its SID (DE…) or its unique name');
  update.sim = sim;
  return update;
}

function viewOf(sim: WirelessSim): WirelessSimView {
  return { sid: sim.sid, unique_name: sim.unique_name, commands_callback_url: sim.commands_callback_url, commands_callback_method: sim.commands_callback_method };
}

/** Points one Wireless SIM, or every one of the account's, at this node's public URL (POST). */
export async function pointWirelessSims(account: WirelessSetupAccount | undefined, httpNodeRoot: string | false, update: WirelessSimsUpdate): Promise<WirelessSimsAnswer> {
  const { account: ready, base, root } = usableAccount(account, httpNodeRoot);
  const target = webhookPublicUrl(base, root, update.url);
  const params: UpdateWirelessSimParams = { commandsCallbackUrl: target, commandsCallbackMethod: 'POST' };
  const answer: WirelessSimsAnswer = { target, updated: 0, sims: [], failures: 0, failed: [] };
  if (update.sim !== undefined) {
    const sim = await ready.client.updateWirelessSim(update.sim, params).catch(setupRefused);
    return { ...answer, updated: 1, sims: [viewOf(sim)] };
  }
  await pointEach(ready, target, params, answer).catch(setupRefused);
  return answer;
}

async function pointEach(ready: WirelessSetupAccount, target: string, params: UpdateWirelessSimParams, answer: WirelessSimsAnswer): Promise<void> {
  let seen = 0;
  // One at a time: the account's other nodes share its queue, and a set-up is no hurry.
  for await (const listed of ready.client.listWirelessSims({})) {
    if (++seen > MAX_WIRELESS_SIMS) break;
    const ref = listed.sid ?? listed.unique_name;
    if (ref === null) continue;
    if (listed.commands_callback_url === target && listed.commands_callback_method === 'POST') {
      answer.updated++;
      if (answer.sims.length < SHOWN_SIMS) answer.sims.push(viewOf(listed));
      continue;
    }
    try {
      const sim = await ready.client.updateWirelessSim(ref, params);
      answer.updated++;
      if (answer.sims.length < SHOWN_SIMS) answer.sims.push(viewOf(sim));
    } catch (err) {
      answer.failures++;
      if (answer.failed.length < SHOWN_SIMS) answer.failed.push({ sim: listed.unique_name ?? ref, message: err instanceof Error ? err.message : String(err) });
    }
  }
}
