/**
 * What the reaching-* node tests share: a flow with a send node wired to three helper nodes and a
 * Catch node, an optional command-in on the same account, a temp user directory for keep-trying's
 * store, and the nodes' real en-US texts (the test helper's RED._ answers the key itself).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SinonSpy } from 'sinon';
import type { NodeAPI } from '../../nodes/lib/red';
import type { Simulator } from '../../src/simulator';
import { accountFor, commandInModules, helper, sendNodeModules, serveHttpNode } from '../support/flows';

export const HOOK = '/hooks/devices';

/** Short backoff between attempts: 200 ms doubling to 400 ms instead of 30 s to 15 min. */
export const KEEP_TRYING = { firstRetryMs: 200, maxRetryMs: 400 };

function translate(key: string, substitutions: Record<string, unknown> = {}): string {
  const [file] = key.split('.');
  let entry: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', `${file}.json`), 'utf8'));
  for (const part of key.split('.')) entry = (entry as Record<string, unknown> | undefined)?.[part];
  if (typeof entry !== 'string') return key;
  return entry.replace(/__(\w+)__/g, (whole, name: string) => (name in substitutions ? String(substitutions[name]) : whole));
}

/** The account, both send nodes and command-in, each reading the real catalogues. */
export const reachingModules = [...sendNodeModules, commandInModules[1]].map(
  (register) => (RED: NodeAPI) => register(Object.create(RED, { _: { value: translate } }) as NodeAPI),
);

export interface ReachFlowOptions {
  /** The account's Public URL; blank: answers and statuses are polled. */
  publicUrl?: string;
  /** A command-in node on the account at HOOK (it hands answers to the account's desk). */
  commandIn?: boolean;
  /** Leave the send node out (a deploy that deletes it). */
  withoutSend?: boolean;
}

/** Flow nodes and credentials: send node `send` → helpers `out`, `status`, `answer`; Catch → `caught`. */
export function reachFlow(sim: Simulator, send: Record<string, unknown>, options: ReachFlowOptions = {}) {
  const account = accountFor(sim, { callbackBaseUrl: options.publicUrl ?? '' });
  const flow: Record<string, unknown>[] = [
    { id: 'tab', type: 'tab', label: 'reach' },
    account.node,
    { z: 'tab', x: 100, y: 100, id: 'out', type: 'helper' },
    { z: 'tab', x: 100, y: 100, id: 'status', type: 'helper' },
    { z: 'tab', x: 100, y: 100, id: 'answer', type: 'helper' },
    { z: 'tab', x: 100, y: 100, id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { z: 'tab', x: 100, y: 100, id: 'caught', type: 'helper' },
  ];
  if (!options.withoutSend) {
    flow.push({ z: 'tab', x: 100, y: 100, id: 'send', name: '', account: account.node.id, track: false, trackTimeout: 30, ...send, wires: [['out'], ['status'], ['answer']] });
  }
  if (options.commandIn) {
    flow.push(
      { z: 'tab', x: 100, y: 200, id: 'in', type: 'supersim-command-in', name: '', account: account.node.id, url: HOOK, wires: [['fromDevices'], []] },
      { z: 'tab', x: 100, y: 200, id: 'fromDevices', type: 'helper' },
    );
  }
  return { flow, credentials: { [account.node.id as string]: account.credentials } };
}

export function ipSend(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'supersim-ip-command', sim: 'thermostat', devicePort: '6655', payloadType: 'text', ...overrides };
}

export function smsSend(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'supersim-sms-command', api: 'supersim', sim: 'thermostat', commandMode: 'text', includeSid: 'none', deliveryReceipt: false, ...overrides };
}

export function wirelessSend(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return smsSend({ api: 'wireless', sim: 'meter', ...overrides });
}

/**
 * Every device answers each command with "ack:" and what it got (IP on port 6655, SMS, Wireless),
 * except those whose name starts with "mute": they receive and never answer.
 */
export async function echoDevices(sim: Simulator): Promise<void> {
  for (const device of sim.devices) {
    if (device.api === 'supersim') await device.listen(6655);
    if (device.uniqueName.startsWith('mute')) continue;
    if (device.api === 'supersim') {
      device.on('ip', (bytes, info) => void info.reply(Buffer.concat([Buffer.from('ack:'), bytes])));
      device.on('sms', (text) => void device.sendSms(`ack:${text}`));
    } else {
      device.on('wireless', (command) => void device.sendSms(typeof command === 'string' ? `ack:${command}` : Buffer.concat([Buffer.from('ack:'), command])));
    }
  }
}

/** A temp user directory and the settings that point the helper's Node-RED at it; remove() cleans up. */
export function useTempUserDir(keepTrying: { firstRetryMs: number; maxRetryMs: number } = KEEP_TRYING): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'supersim-reach-'));
  helper.settings({ userDir: dir, supersim: { keepTrying } });
  return {
    dir,
    remove: () => {
      helper.settings({});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { serveHttpNode };

export interface ShownStatus {
  fill?: string;
  shape?: string;
  text?: string;
}

/** Every status the node showed, oldest first. */
export function statusTexts(id: string): string[] {
  const node = helper.getNode(id);
  return (node.status as unknown as SinonSpy)
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => String((c.args[0] as ShownStatus).text ?? ''));
}

export function errorOf(msg: Record<string, unknown>): { message: string; source?: { id: string } } {
  return msg.error as { message: string; source?: { id: string } };
}
