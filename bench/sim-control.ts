/**
 * The parent's side of ./sim-child: starts a simulator in its own process and steers it.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { FaultKind, FaultRule, SimulatedFleetOptions, SimulatedSimOptions, SimulatorCredentials, SimulatorMode, SimulatorTiming } from '../src/simulator';

export interface SimChildOptions {
  mode?: SimulatorMode;
  port?: number;
  sims?: SimulatedSimOptions[];
  fleets?: SimulatedFleetOptions[];
  timing?: SimulatorTiming;
  tokenTtlSeconds?: number;
  maxStoredCommands?: number;
  credentials?: Partial<SimulatorCredentials>;
  /** Supersim devices listen on this device port and send every IP Command they get back. */
  echoIpPort?: number;
}

/** Over IPC, Infinity would arrive as null. */
export type WireFaultRule = Omit<FaultRule, 'times' | 'path'> & { path?: string; times?: number | 'Infinity' };

export type ControlRequest =
  | { id: number; op: 'fault'; rule: WireFaultRule; fault: FaultKind }
  | { id: number; op: 'clear' | 'revoke' | 'reset' | 'stats' };

export interface ChildStats {
  requests: number;
  tokenRequests: number;
  created: { ip: number; sms: number; wireless: number };
  callbacks: { sent: number; failed: number };
  pendingFaults: number;
  /** The simulator process's resident set, bytes. */
  memory: number;
}

export type ControlReply = { id: number; ok: true; stats?: ChildStats } | { id: number; ok: false; error: string };

export interface ChildReady {
  ready: true;
  mode: SimulatorMode;
  port: number;
  baseUrl: string;
  supersimUrl: string;
  wirelessUrl: string;
  tokenUrl: string;
  credentials: SimulatorCredentials;
}

export interface SimulatorProcess extends Omit<ChildReady, 'ready'> {
  addFault(rule: FaultRule, fault: FaultKind): Promise<void>;
  clearFaults(): Promise<void>;
  revokeTokens(): Promise<void>;
  resetStats(): Promise<void>;
  stats(): Promise<ChildStats>;
  stop(): Promise<void>;
}

type Pending = { resolve: (reply: ControlReply) => void; reject: (err: Error) => void };

export async function startSimulatorProcess(options: SimChildOptions = {}): Promise<SimulatorProcess> {
  const child: ChildProcess = fork(path.join(__dirname, 'sim-child.ts'), [], {
    execArgv: ['--require', 'tsx/cjs'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, SUPERSIM_SIM_CHILD: JSON.stringify(options) },
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let exited = false;

  const ready = await new Promise<ChildReady>((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if ((message as ChildReady).ready) {
        child.off('exit', onExit);
        resolve(message as ChildReady);
      }
    };
    const onExit = (code: number | null): void => reject(new Error(`the simulator process exited (${code}) before it was ready`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  child.on('message', (message: unknown) => {
    const reply = message as ControlReply;
    if (typeof reply.id !== 'number') return;
    pending.get(reply.id)?.resolve(reply);
    pending.delete(reply.id);
  });
  child.once('exit', () => {
    exited = true;
    for (const waiter of pending.values()) waiter.reject(new Error('the simulator process exited'));
    pending.clear();
  });

  const request = async (body: Omit<ControlRequest, 'id'>): Promise<ControlReply & { ok: true }> => {
    if (exited) throw new Error('the simulator process has exited');
    const id = nextId++;
    const reply = await new Promise<ControlReply>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ ...body, id });
    });
    if (!reply.ok) throw new Error(`simulator process: ${reply.error}`);
    return reply;
  };

  const { ready: _ready, ...info } = ready;
  return {
    ...info,
    addFault: async (rule, fault) => {
      if (rule.path instanceof RegExp) throw new TypeError('a fault rule with a RegExp path cannot cross to the simulator process');
      const times = rule.times === Infinity ? 'Infinity' : rule.times;
      await request({ op: 'fault', rule: { ...rule, path: rule.path, times }, fault } as Omit<ControlRequest, 'id'>);
    },
    clearFaults: async () => {
      await request({ op: 'clear' });
    },
    revokeTokens: async () => {
      await request({ op: 'revoke' });
    },
    resetStats: async () => {
      await request({ op: 'reset' });
    },
    stats: async () => (await request({ op: 'stats' })).stats as ChildStats,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(killer);
          resolve();
        });
        child.disconnect();
      }),
  };
}
