import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Application } from 'express';
import helper from 'node-red-node-test-helper';
import accountNode from '../../nodes/supersim-account';
import commandInNode from '../../nodes/supersim-command-in';
import ipCommandNode from '../../nodes/supersim-ip-command';
import smsCommandNode from '../../nodes/supersim-sms-command';
import type { NodeAPI } from '../../nodes/lib/red';
import type { Simulator } from '../../src/simulator';

helper.init(require.resolve('node-red'));

export { helper };

/** The RED.httpNode app of the last load: webhook routes live there, not on the admin app helper.request() reaches. */
let httpNodeApp: Application | undefined;

function capturingAccountNode(RED: NodeAPI): void {
  httpNodeApp = RED.httpNode;
  accountNode(RED);
}

export const sendNodeModules = [capturingAccountNode, ipCommandNode, smsCommandNode];

export const commandInModules = [capturingAccountNode, commandInNode];

export function currentHttpNode(): Application {
  if (!httpNodeApp) throw new Error('no node module loaded yet');
  return httpNodeApp;
}

/** Serves the captured httpNode app on 127.0.0.1, so a simulator can call its webhook routes. */
export async function serveHttpNode(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => currentHttpNode()(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface AccountFlowOptions {
  id?: string;
  callbackBaseUrl?: string;
}

/** An account node pointing at the simulator, and its credentials for helper.load(). */
export function accountFor(sim: Simulator, options: AccountFlowOptions = {}): { node: Record<string, unknown>; credentials: Record<string, string> } {
  const id = options.id ?? 'account';
  const c = sim.credentials;
  return {
    node: {
      id,
      type: 'supersim-account',
      name: 'test account',
      provider: sim.mode,
      supersimUrl: sim.supersimUrl,
      wirelessUrl: sim.wirelessUrl,
      tokenUrl: sim.mode === 'kore' ? sim.tokenUrl : '',
      callbackBaseUrl: options.callbackBaseUrl ?? '',
    },
    credentials:
      sim.mode === 'kore'
        ? { clientId: c.clientId, clientSecret: c.clientSecret, webhookSecret: c.webhookSecret }
        : { accountSid: c.accountSid, authToken: c.authToken },
  };
}

/** A helper node's next message, or a rejection naming what did not arrive. */
export function nextMessage(nodeId: string, timeoutMs = 3_000): Promise<Record<string, unknown>> {
  const node = helper.getNode(nodeId);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message reached ${nodeId} within ${timeoutMs} ms`)), timeoutMs);
    node.once('input', (msg: Record<string, unknown>) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}

/** Every message a helper node receives, as they come. */
export function collectMessages(nodeId: string): Record<string, unknown>[] {
  const messages: Record<string, unknown>[] = [];
  helper.getNode(nodeId).on('input', (msg: Record<string, unknown>) => messages.push(msg));
  return messages;
}

export async function waitFor(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Log lines of one node at a level (Node-RED: 20 error, 30 warn). */
export function logLines(id: string, level: number): string[] {
  return helper
    .log()
    .args.map((args) => args[0] as { level?: number; id?: string; msg?: unknown })
    .filter((entry) => entry.id === id && entry.level === level)
    .map((entry) => String(entry.msg));
}

/**
 * The en-US text of a key in nodes/locales/en-US/<catalogue>.json with its __name__ substitutions, as
 * Node-RED's i18n renders it: the helper's own RED._ returns the bare key.
 */
export function translatorOf(catalogue: string): (key: string, substitutions?: Record<string, unknown>) => string {
  const texts = JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', 'locales', 'en-US', `${catalogue}.json`), 'utf8')) as Record<string, unknown>;
  return (key, substitutions = {}) => {
    let text: unknown = texts;
    for (const part of key.split('.')) text = (text as Record<string, unknown> | undefined)?.[part];
    if (typeof text !== 'string') return key;
    return text.replace(/__(\w+)__/g, (whole, name: string) => (name in substitutions ? String(substitutions[name]) : whole));
  };
}
