// The test helper ships no types; these cover what the tests call.
declare module 'node-red-node-test-helper' {
  import type { EventEmitter } from 'node:events';
  import type { Test } from 'supertest';
  import type TestAgent from 'supertest/lib/agent';

  interface TestNode extends EventEmitter {
    id: string;
    type: string;
    receive(msg: Record<string, unknown>): void;
    status: (...args: unknown[]) => void;
    error: (...args: unknown[]) => void;
    warn: (...args: unknown[]) => void;
    log: (...args: unknown[]) => void;
    [key: string]: unknown;
  }

  type NodeModule = (RED: never) => void | Promise<void>;

  interface Helper {
    init(nodeRedRuntime: string, userSettings?: Record<string, unknown>): void;
    settings(userSettings: Record<string, unknown>): Record<string, unknown>;
    load(nodes: NodeModule | NodeModule[], flow: object[], credentials?: Record<string, object>): Promise<void>;
    load(nodes: NodeModule | NodeModule[], flow: object[], credentials: Record<string, object>, done: () => void): void;
    setFlows(flow: object[], type: 'full' | 'nodes' | 'flows', credentials?: Record<string, object>): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): TestNode;
    clearFlows(): Promise<void>;
    request(): TestAgent<Test>;
    startServer(done?: () => void): Promise<void>;
    stopServer(done?: () => void): Promise<void>;
    url(): string;
    log(): { args: unknown[][] } & { getCalls(): { args: unknown[] }[] };
  }

  const helper: Helper;
  export = helper;
}
