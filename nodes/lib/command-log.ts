/**
 * The Commands sidebar's runtime: one command log per Node-RED (src/activity), fed by the send nodes
 * and command-in, published to the editor over comms in batches, with an admin snapshot and a clear.
 * The sidebar plugin installs it, and so does every node that feeds it, since a Node-RED without
 * plugins (node-red-node-test-helper) must still log; installing it again returns the same log.
 */
import type { Request, Response } from 'express';
import { Batcher, CommandLog } from '../../src/activity';
import type { CommandBatch, FollowedCommand, ReceivedCommand, RowNode, SendStart } from '../../src/activity';
import { forbiddenUnless } from '../supersim-account';
import type { Node, NodeAPI } from './red';

/** The comms topic the sidebar subscribes to. */
export const COMMANDS_TOPIC = 'supersim/commands';

/** The parts of Node-RED's API beyond lib/red.ts's slice that the log uses. */
interface CommsAPI {
  comms?: { publish(topic: string, data: unknown, retain?: boolean): void };
}

/** What a send node knows of a message when its row begins. */
export interface SendRowStart {
  kind: SendStart['kind'];
  sim?: string;
  request: unknown;
}

/** A node's side of the log: the rows it begins and updates, each naming it. */
export class NodeRows {
  readonly #log: CommandLog;
  readonly #node: RowNode;

  constructor(log: CommandLog, node: Node) {
    this.#log = log;
    this.#node = { id: node.id, type: node.type, name: node.name ?? '', z: node.z ?? null };
  }

  /** A checked message is about to be sent; the key names its row from now on. */
  begin(msgid: string | undefined, start: SendRowStart): string {
    const request = start.request as { payload?: unknown; command?: unknown };
    return this.#log.begin({ node: this.#node, msgid, kind: start.kind, sim: start.sim ?? null, payload: request.payload ?? request.command });
  }

  created(key: string, resource: Record<string, unknown>): void {
    this.#log.created(key, resource);
  }

  status(key: string, resource: Record<string, unknown>): void {
    this.#log.status(key, resource);
  }

  failed(key: string, error: unknown): void {
    this.#log.failed(key, error);
  }

  /** The key of a followed-up message's row (kept trying, waiting for its answer), by its engine's record. */
  followed(command: FollowedCommand): string {
    return this.#log.followed(this.#node, command);
  }

  answered(key: string, payload: unknown): void {
    this.#log.answered(key, payload);
  }

  /** A callback command-in accepted. */
  received(event: ReceivedCommand): void {
    this.#log.received(event, this.#node);
  }
}

/** One Node-RED's log and its batcher. */
export class InstalledCommandLog {
  readonly log: CommandLog;
  readonly batcher: Batcher;

  constructor(publish: (batch: CommandBatch) => void) {
    this.log = new CommandLog({ changed: () => this.batcher.changed() });
    this.batcher = new Batcher({ take: () => this.log.takeBatch(), publish });
  }

  forNode(node: Node): NodeRows {
    return new NodeRows(this.log, node);
  }
}

/**
 * Keyed by the admin app: every node set and plugin of one Node-RED gets its own RED object, but all
 * share the runtime's admin app; the test helper makes a new one for each flow it loads.
 */
const installed = new WeakMap<object, InstalledCommandLog>();

export function installCommandLog(RED: NodeAPI): InstalledCommandLog {
  const owner: object = RED.httpAdmin ?? RED;
  const existing = installed.get(owner);
  if (existing) return existing;
  const comms = (RED as NodeAPI & CommsAPI).comms;
  const log = new InstalledCommandLog((batch) => comms?.publish(COMMANDS_TOPIC, batch, false));
  installed.set(owner, log);
  if (RED.httpAdmin) {
    // 403 rather than Node-RED's 401 to a user logged in without the permission: the editor reads a
    // 401 as "log in again", and opening the sidebar must not log a user out.
    RED.httpAdmin.get('/supersim-sidebar/commands', forbiddenUnless(RED, 'supersim-account.read'), (_req: Request, res: Response) => {
      res.json(log.log.snapshot());
    });
    RED.httpAdmin.post('/supersim-sidebar/clear', forbiddenUnless(RED, 'supersim-account.write'), (_req: Request, res: Response) => {
      log.log.clear();
      res.status(204).end();
    });
  }
  return log;
}
