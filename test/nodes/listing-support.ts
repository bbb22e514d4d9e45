import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SinonSpy } from 'sinon';
import commandLookupNode from '../../nodes/supersim-command-lookup';
import simsNode from '../../nodes/supersim-sims';
import accountNode from '../../nodes/supersim-account';
import ipCommandNode from '../../nodes/supersim-ip-command';
import type { NodeAPI } from '../../nodes/lib/red';
import type { Simulator } from '../../src/simulator';
import { helper } from '../support/flows';

/** Core split and join, as a user's flow has them. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const coreSequence = require('@node-red/nodes/core/sequence/17-split.js') as (RED: NodeAPI) => void;

/** Statuses are read as users read them: RED._ reads the en-US catalogues the way Node-RED does. */
function translate(key: string, substitutions: Record<string, unknown> = {}): string {
  const [file] = key.split('.');
  let entry: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', `${file}.json`), 'utf8'));
  for (const part of key.split('.')) entry = (entry as Record<string, unknown> | undefined)?.[part];
  if (typeof entry !== 'string') return key;
  return entry.replace(/__(\w+)__/g, (whole, name: string) => (name in substitutions ? String(substitutions[name]) : whole));
}

const translated = (register: (RED: NodeAPI) => void) => (RED: NodeAPI) => register(Object.create(RED, { _: { value: translate } }) as NodeAPI);

export const listingModules = [accountNode, translated(simsNode), translated(commandLookupNode), ipCommandNode, coreSequence];

export const AT = { z: 'tab', x: 100, y: 100 };

/** An account node whose three URLs lead to `base` (the simulator, or a proxy in front of it). */
export function accountAt(sim: Simulator, base: string = sim.baseUrl): { node: Record<string, unknown>; credentials: Record<string, Record<string, string>> } {
  const c = sim.credentials;
  return {
    node: { id: 'account', type: 'supersim-account', name: 'test account', provider: sim.mode, supersimUrl: `${base}/supersim`, wirelessUrl: `${base}/wireless`, tokenUrl: sim.mode === 'kore' ? `${base}/api-services/v1/auth/token` : '', callbackBaseUrl: '' },
    credentials: { account: sim.mode === 'kore' ? { clientId: c.clientId, clientSecret: c.clientSecret } : { accountSid: c.accountSid, authToken: c.authToken } },
  };
}

export interface ShownStatus {
  fill?: string;
  shape?: string;
  text?: string;
}

export function lastStatus(id: string): ShownStatus | undefined {
  const node = helper.getNode(id);
  return (node.status as unknown as SinonSpy)
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => c.args[0] as ShownStatus)
    .at(-1);
}

export function queryOf(url: string): Record<string, string> {
  return Object.fromEntries(new URL(url, 'http://x').searchParams);
}
