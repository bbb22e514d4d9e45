import type { FaultKind, FaultRule, FaultTarget } from './types';

export const TOKEN_PATH = '/api-services/v1/auth/token';

const TARGET_PATHS: Record<Exclude<FaultTarget, 'any' | 'token'>, string> = {
  ipCommands: '/supersim/v1/IpCommands',
  smsCommands: '/supersim/v1/SmsCommands',
  fleets: '/supersim/v1/Fleets',
  wirelessCommands: '/wireless/v1/Commands',
  sims: '/supersim/v1/Sims',
  wirelessSims: '/wireless/v1/Sims',
  webhookSecrets: '/webhook/v1/secrets',
};

interface ActiveRule {
  method: string | undefined;
  path: string | RegExp | undefined;
  target: FaultTarget | undefined;
  remaining: number;
  fault: FaultKind;
}

/** The server's hooks into the injector; symbols keep them out of the public surface. */
export const takeFault = Symbol('takeFault');
export const holdAnswer = Symbol('holdAnswer');
export const dropHeld = Symbol('dropHeld');

interface HeldAnswer {
  answer(): void;
}

function underPath(path: string, base: string): boolean {
  return path === base || (path.startsWith(base) && path.charCodeAt(base.length) === 47 /* '/' */);
}

function matches(rule: ActiveRule, method: string, path: string): boolean {
  if (rule.method !== undefined && rule.method !== method) return false;
  if (rule.path !== undefined) {
    if (typeof rule.path === 'string') {
      if (rule.path !== path) return false;
    } else {
      // A /g or /y pattern keeps lastIndex between calls; rewind it so every request is judged alike.
      rule.path.lastIndex = 0;
      if (!rule.path.test(path)) return false;
    }
  }
  switch (rule.target) {
    case undefined:
    case 'any':
      return true;
    case 'token':
      return path === TOKEN_PATH;
    default:
      return underPath(path, TARGET_PATHS[rule.target]);
  }
}

function checkFault(fault: FaultKind): void {
  switch (fault.kind) {
    case 'status':
      if (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599) throw new RangeError(`fault status must be an HTTP status, got ${fault.status}`);
      return;
    case 'delay':
      if (!(fault.ms >= 0) || !Number.isFinite(fault.ms)) throw new RangeError(`fault delay must be a finite number of ms >= 0, got ${fault.ms}`);
      return;
    case 'reset':
      if (fault.when !== 'before' && fault.when !== 'after') throw new RangeError(`reset fault needs when 'before' or 'after'`);
      return;
    case 'hang':
    case 'hold':
      return;
    default:
      throw new RangeError(`unknown fault kind ${(fault as { kind: unknown }).kind as string}`);
  }
}

/** Makes chosen requests fail in chosen ways, to test a client's retry and error paths against real sockets. */
export class FaultInjector {
  #rules: ActiveRule[] = [];
  /** Oldest first, so release(1) answers the request that has waited longest. */
  #held: HeldAnswer[] = [];

  /** Rules are checked in order; a rule is used up after `times` matches (default 1). */
  add(rule: FaultRule, fault: FaultKind): void {
    const times = rule.times ?? 1;
    if (!(times >= 1)) throw new RangeError(`fault times must be >= 1 (or Infinity), got ${times}`);
    checkFault(fault);
    if (rule.target !== undefined && rule.target !== 'any' && rule.target !== 'token' && !(rule.target in TARGET_PATHS)) {
      throw new RangeError(`unknown fault target ${rule.target}`);
    }
    this.#rules.push({ method: rule.method?.toUpperCase(), path: rule.path, target: rule.target, remaining: times, fault: { ...fault } });
  }

  clear(): void {
    this.#rules = [];
  }

  /** Answers held by 'hold' faults whose client is still connected. */
  get held(): number {
    return this.#held.length;
  }

  /** Writes up to `count` held answers (all by default), oldest first; how many it wrote. */
  release(count = Infinity): number {
    if (!(count >= 0)) throw new RangeError(`release count must be >= 0, got ${count}`);
    const released = this.#held.splice(0, Math.min(count, this.#held.length));
    for (const held of released) held.answer();
    return released.length;
  }

  /** Rules not yet used up. */
  get pending(): number {
    return this.#rules.length;
  }

  /** Keeps an answer back until release(); the returned function forgets it (its client went away). */
  [holdAnswer](answer: () => void): () => void {
    const held: HeldAnswer = { answer };
    this.#held.push(held);
    return () => {
      this.#held = this.#held.filter((h) => h !== held);
    };
  }

  /** The server is closing: held answers are never written. */
  [dropHeld](): void {
    this.#held = [];
  }

  [takeFault](method: string, path: string): FaultKind | undefined {
    const rules = this.#rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (!matches(rule, method, path)) continue;
      if (--rule.remaining <= 0) rules.splice(i, 1);
      return rule.fault;
    }
    return undefined;
  }
}
