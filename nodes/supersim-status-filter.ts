import type { CommandStatus } from '../src/api/types';
import { isCommandStatus } from '../src/commands';
import { StatusFilterState } from '../src/filter';
import type { StatusFilterOptions } from '../src/filter';
import type { DoneFunction, Node, NodeAPI, NodeDefinition, NodeMessage, NodeRedSettings, NodeStatus, SendFunction } from './lib/red';
import { ThrottledStatus } from './lib/status';

export interface StatusFilterConfig extends NodeDefinition {
  statuses?: unknown;
  maxCommands?: number | string;
  /** '' keeps the state in memory only; else the name of a context store in settings.js. */
  store?: string;
}

/** Node context is per node, so one fixed key is enough. */
export const STATE_KEY = 'statusFilter';
export const DEFAULT_MAX_COMMANDS = 100_000;
/** Messages held while the state loads from its store; a store that never answers must not hold them all. */
export const MAX_WAITING = 1000;
/** A snapshot holds up to maxCommands entries (MBs at the default), so it is written at most this often. */
const SAVE_INTERVAL_MS = 1000;

interface Waiting {
  msg: NodeMessage;
  send: SendFunction;
  done: DoneFunction;
}

type ResetRequest = { all: true } | { all: false; sid: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** `{sid, status}` from msg.command (supersim-command-in), else from msg.payload (a send node's resource). */
export function commandOf(msg: NodeMessage): { sid: unknown; status: unknown } | undefined {
  for (const source of [msg.command, msg.payload]) {
    if (isObject(source) && !Buffer.isBuffer(source) && 'sid' in source) return { sid: source.sid, status: source.status };
  }
  return undefined;
}

/**
 * Only `true` and a SID string count as a reset: any other value is an ordinary property, so that a
 * stray `reset: 0` or `reset: {}` from upstream cannot wipe what the filter knows.
 */
export function resetOf(msg: NodeMessage, command: { sid: unknown } | undefined): ResetRequest | undefined {
  const reset = msg.reset;
  if (typeof reset === 'string' && reset !== '') return { all: false, sid: reset };
  if (reset !== true) return undefined;
  return typeof command?.sid === 'string' && command.sid !== '' ? { all: false, sid: command.sid } : { all: true };
}

/** The context stores the runtime knows, and which one takes names it does not know. */
export function contextStores(settings: NodeRedSettings): { stores: string[]; fallback: string } {
  const storage = settings.contextStorage;
  const names = isObject(storage) ? Object.keys(storage).filter((name) => name !== '_') : [];
  // The same rules as Node-RED's context/index.js load(): no stores configured means one memory store.
  if (names.length === 0) return { stores: ['memory'], fallback: 'memory' };
  const alias = storage?.default;
  const stores = names.filter((name) => !(name === 'default' && typeof alias === 'string'));
  const fallback = typeof alias === 'string' ? alias : names.includes('default') ? 'default' : stores[0];
  return { stores, fallback };
}

function parseStatuses(value: unknown): { statuses: CommandStatus[]; unknown: string[] } {
  // Hand-edited flows may hold one name or a comma-separated list rather than an array.
  const list = Array.isArray(value) ? value : typeof value === 'string' && value.trim() !== '' ? value.split(',') : [];
  const statuses: CommandStatus[] = [];
  const unknown: string[] = [];
  for (const item of list) {
    const name = typeof item === 'string' ? item.trim() : item;
    if (isCommandStatus(name)) {
      if (!statuses.includes(name)) statuses.push(name);
    } else {
      unknown.push(String(item));
    }
  }
  return { statuses, unknown };
}

function parseMaxCommands(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return DEFAULT_MAX_COMMANDS;
  const number = Number(value);
  return Number.isSafeInteger(number) && number >= 1 ? number : undefined;
}

const T = 'supersim-status-filter';

/**
 * A thin adapter around StatusFilterState, modelled on the core rbe node, except that every message
 * ends in done(), dropped ones too, so Complete nodes and the runtime's message tracing see them end.
 */
function setUpStatusFilter(RED: NodeAPI, node: Node, config: StatusFilterConfig): void {
  const store = typeof config.store === 'string' ? config.store.trim() : '';

  const { statuses, unknown } = parseStatuses(config.statuses);
  if (unknown.length > 0) node.warn(RED._(`${T}.errors.unknown-statuses`, { statuses: unknown.join(', ') }));
  let maxCommands = parseMaxCommands(config.maxCommands);
  if (maxCommands === undefined) {
    node.warn(RED._(`${T}.errors.bad-max-commands`, { value: String(config.maxCommands), default: DEFAULT_MAX_COMMANDS }));
    maxCommands = DEFAULT_MAX_COMMANDS;
  }
  const options: StatusFilterOptions = { maxCommands, statuses };

  let state = new StatusFilterState(options);
  let persist = store !== '';
  let loading = false;
  let closing = false;
  /** Persistence not working as configured: the status turns yellow. */
  let storeUnknown = false;
  let loadFailed = false;
  const waiting: Waiting[] = [];
  const counts = { passed: 0, dropped: 0, invalid: 0 };

  let dirty = false;
  let lastSaveAt = -Infinity;
  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<void> | undefined;
  let saveFailing = false;

  // Every status update goes to each open editor; at thousands of messages a second that would be the load.
  const shown = new ThrottledStatus(node);

  const context = node.context();

  function countsStatus(): NodeStatus {
    const values = { passed: counts.passed, dropped: counts.dropped, invalid: counts.invalid, tracked: state.size };
    const text = counts.invalid > 0 ? RED._(`${T}.status.counts-invalid`, values) : RED._(`${T}.status.counts`, values);
    return storeUnknown || loadFailed || saveFailing ? { fill: 'yellow', shape: 'ring', text } : { fill: 'green', shape: 'dot', text };
  }

  function showCounts(): void {
    if (!closing) shown.show(countsStatus);
  }

  function writeSnapshot(): Promise<void> {
    dirty = false;
    lastSaveAt = Date.now();
    return new Promise((resolve) => {
      const finished = (err: unknown): void => {
        if (err) {
          // Kept dirty so the next change (or close) tries again; reported once per failing streak.
          dirty = true;
          if (!saveFailing) node.error(RED._(`${T}.errors.save-failed`, { store, message: err instanceof Error ? err.message : String(err) }));
          saveFailing = true;
        } else {
          saveFailing = false;
        }
        resolve();
      };
      try {
        context.set(STATE_KEY, state.toJSON(), store, finished);
      } catch (err) {
        finished(err);
      }
    });
  }

  function scheduleSave(): void {
    if (saving !== undefined || saveTimer !== undefined || closing) return;
    // Even with no wait left, a timer lets a synchronous burst of messages share one write.
    saveTimer = setTimeout(
      () => {
        saveTimer = undefined;
        saving = writeSnapshot().then(() => {
          saving = undefined;
          if (dirty) scheduleSave();
        });
      },
      Math.max(0, lastSaveAt + SAVE_INTERVAL_MS - Date.now()),
    );
  }

  function changed(): void {
    if (!persist) return;
    dirty = true;
    scheduleSave();
  }

  function handle(msg: NodeMessage, send: SendFunction, done: DoneFunction): void {
    const command = commandOf(msg);
    const reset = resetOf(msg, command);
    if (reset !== undefined) {
      if (reset.all) {
        state.clear();
        changed();
      } else if (state.reset(reset.sid)) {
        changed();
      }
      showCounts();
      done();
      return;
    }
    const decision = state.decide(command?.sid, command?.status);
    // A status that moves the command forward is recorded even when not selected.
    if (decision === 'pass' || decision === 'not-selected') changed();
    if (decision === 'pass') counts.passed++;
    else if (decision === 'invalid') counts.invalid++;
    else counts.dropped++;
    if (decision === 'pass') send(msg);
    showCounts();
    done();
  }

  function loaded(err: unknown, value: unknown): void {
    if (closing || !loading) return;
    loading = false;
    if (err) {
      // Writing now would replace what the store holds (perhaps only unreachable for a moment) with
      // what this node saw since: keep memory only until the next deploy instead.
      persist = false;
      loadFailed = true;
      node.error(RED._(`${T}.errors.load-failed`, { store, message: err instanceof Error ? err.message : String(err) }));
    } else {
      state = StatusFilterState.fromJSON(value, options);
    }
    shown.showNow(countsStatus());
    for (const entry of waiting.splice(0)) handle(entry.msg, entry.send, entry.done);
  }

  if (persist) {
    const { stores, fallback } = contextStores(RED.settings);
    if (!stores.includes(store)) {
      storeUnknown = true;
      node.warn(RED._(`${T}.errors.unknown-store`, { store, stores: stores.join(', '), fallback }));
    }
    loading = true;
    shown.showNow({ fill: 'blue', shape: 'ring', text: RED._(`${T}.status.loading`, { store }) });
    try {
      context.get(STATE_KEY, store, loaded);
    } catch (err) {
      loaded(err, undefined);
    }
  } else {
    shown.showNow(countsStatus());
  }

  node.on('input', (msg, send, done) => {
    if (!loading) {
      handle(msg, send, done);
    } else if (waiting.length < MAX_WAITING) {
      waiting.push({ msg, send, done });
    } else {
      done(new Error(RED._(`${T}.errors.waiting-full`, { store, limit: MAX_WAITING })));
    }
  });

  node.on('close', (removed, done) => {
    closing = true;
    shown.close();
    clearTimeout(saveTimer);
    saveTimer = undefined;
    for (const entry of waiting.splice(0)) entry.done(new Error(RED._(`${T}.errors.closed-while-loading`, { store })));
    // A removed node's context is deleted by the runtime, and a state never loaded must not overwrite
    // the stored one.
    const flush = persist && !removed && !loading;
    (saving ?? Promise.resolve())
      .then(() => (flush && dirty ? writeSnapshot() : undefined))
      .then(() => done());
  });
}

export default function register(RED: NodeAPI): void {
  function SupersimStatusFilterNode(this: Node, config: StatusFilterConfig): void {
    RED.nodes.createNode(this, config);
    setUpStatusFilter(RED, this, config);
  }

  RED.nodes.registerType('supersim-status-filter', SupersimStatusFilterNode);
}
