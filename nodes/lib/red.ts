/**
 * The part of Node-RED's runtime API these nodes use, typed here rather than through @types/node-red,
 * whose releases lag the runtime. Only what is called is declared.
 */
import type { Application, RequestHandler } from 'express';

export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  topic?: string;
  [key: string]: unknown;
}

export type NodeStatusFill = 'red' | 'green' | 'yellow' | 'blue' | 'grey';
export interface NodeStatus {
  fill?: NodeStatusFill;
  shape?: 'ring' | 'dot';
  text?: string;
}

export type SendFunction = (msg: NodeMessage | null | (NodeMessage | null | undefined)[]) => void;
export type DoneFunction = (err?: Error) => void;

export interface ContextStore {
  get(key: string, store: string | undefined, callback: (err: Error | null, value: unknown) => void): void;
  set(key: string, value: unknown, store: string | undefined, callback: (err: Error | null) => void): void;
  keys(store: string | undefined, callback: (err: Error | null, keys: string[]) => void): void;
}

export interface NodeContext extends ContextStore {
  flow: ContextStore;
  global: ContextStore;
}

export interface Node<TCredentials = Record<string, string | undefined>> {
  id: string;
  type: string;
  name?: string;
  z?: string;
  credentials: TCredentials;
  on(event: 'input', listener: (msg: NodeMessage, send: SendFunction, done: DoneFunction) => void): void;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | null | (NodeMessage | null | undefined)[]): void;
  status(status: NodeStatus | Record<string, never>): void;
  log(message: unknown): void;
  warn(message: unknown): void;
  error(message: unknown, msg?: NodeMessage): void;
  context(): NodeContext;
}

export interface NodeDefinition {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface CredentialDefinition {
  type: 'text' | 'password';
}

export interface NodeRedSettings {
  httpNodeRoot?: string | false;
  httpAdminRoot?: string | false;
  httpNodeMiddleware?: RequestHandler | RequestHandler[];
  httpNodeCors?: Record<string, unknown>;
  contextStorage?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface NodeAPI {
  nodes: {
    createNode(node: object, config: NodeDefinition): void;
    registerType(
      type: string,
      // `never` lets each node type declare its own `this` and config shape.
      constructor: (this: never, config: never) => void,
      options?: { credentials?: Record<string, CredentialDefinition>; settings?: Record<string, { value: unknown; exportable?: boolean }> },
    ): void;
    getNode(id: string): Node | null;
    getCredentials(id: string): Record<string, string | undefined> | undefined;
  };
  httpAdmin: Application;
  httpNode: Application;
  auth: { needsPermission(permission: string): RequestHandler };
  settings: NodeRedSettings;
  util: { cloneMessage<T>(msg: T): T };
  log: {
    info(message: unknown): void;
    warn(message: unknown): void;
    error(message: unknown): void;
    debug(message: unknown): void;
  };
  _: (key: string, substitutions?: Record<string, unknown>) => string;
  version?: () => string;
}
