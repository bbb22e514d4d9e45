import { DEFAULT_MAX_COMMANDS, FilterSession, MAX_SHARED_IN_FLIGHT, MAX_WAITING, STATE_KEY, contextStores, parseMaxCommands, parseStatuses } from '../src/filter';
import type { Store } from '../src/filter';
import { RedisFilterStore } from '../src/shared-state';
import { useSharedRedis } from './lib/shared-state';
import type { DoneFunction, Node, NodeAPI, NodeDefinition, NodeMessage, NodeStatus, SendFunction } from './lib/red';
import { ThrottledStatus } from './lib/status';

export interface StatusFilterConfig extends NodeDefinition {
  statuses?: unknown;
  maxCommands?: number | string;
  /** '' keeps the state in memory only; else the name of a context store in settings.js. */
  store?: string;
}

interface Waiting {
  msg: NodeMessage;
  send: SendFunction;
  done: DoneFunction;
}

const T = 'supersim-status-filter';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A thin adapter around FilterSession, modelled on the core rbe node, except that every message
 * ends in done(), dropped ones too, so Complete nodes and the runtime's message tracing see them end.
 */
function setUpStatusFilter(RED: NodeAPI, node: Node, config: StatusFilterConfig): void {
  const storeName = typeof config.store === 'string' ? config.store.trim() : '';

  const { statuses, unknown } = parseStatuses(config.statuses);
  if (unknown.length > 0) node.warn(RED._(`${T}.errors.unknown-statuses`, { statuses: unknown.join(', ') }));
  let maxCommands = parseMaxCommands(config.maxCommands);
  if (maxCommands === undefined) {
    node.warn(RED._(`${T}.errors.bad-max-commands`, { value: String(config.maxCommands), default: DEFAULT_MAX_COMMANDS }));
    maxCommands = DEFAULT_MAX_COMMANDS;
  }

  const context = node.context();
  const store: Store | undefined =
    storeName === ''
      ? undefined
      : {
          get: (callback) => context.get(STATE_KEY, storeName, callback),
          set: (snapshot, callback) => context.set(STATE_KEY, snapshot, storeName, callback),
        };

  let closing = false;
  /** The store named is not one settings.js configures: the status turns yellow. */
  let storeUnknown = false;
  // Every status update goes to each open editor; at thousands of messages a second that would be the load.
  const shown = new ThrottledStatus(node);

  // Several instances: each command's status is judged in Redis, so a change passes once across all of them.
  const redis = useSharedRedis(RED, node, () => {
    if (!closing) shown.showNow(countsStatus());
  });
  const shared = redis.redis && {
    store: new RedisFilterStore(redis.redis, node.id),
    onFallback: (err: unknown) => node.warn(RED._(`${T}.errors.redis-down`, { message: messageOf(err) })),
    onResumed: () => node.log(RED._(`${T}.errors.redis-back`)),
  };

  const session: FilterSession<Waiting> = new FilterSession<Waiting>({
    filter: { maxCommands, statuses },
    store,
    shared,
    run: (entry) => handle(entry),
    onReady: () => shown.showNow(countsStatus()),
    onLoadFailed: (err) => node.error(RED._(`${T}.errors.load-failed`, { store: storeName, message: messageOf(err) })),
    onSaveFailed: (err) => node.error(RED._(`${T}.errors.save-failed`, { store: storeName, message: messageOf(err) })),
  });

  function countsStatus(): NodeStatus {
    const { passed, dropped, invalid } = session.counts;
    const values = { passed, dropped, invalid, tracked: session.tracked };
    const suffix = redis.suffix() || (session.fallingBack ? ` · ${RED._(`${T}.status.redis-fallback`)}` : '');
    const text = `${invalid > 0 ? RED._(`${T}.status.counts-invalid`, values) : RED._(`${T}.status.counts`, values)}${suffix}`;
    return storeUnknown || session.degraded || suffix !== '' ? { fill: 'yellow', shape: 'ring', text } : { fill: 'green', shape: 'dot', text };
  }

  function handle({ msg, send, done }: Waiting): void {
    session.judge(msg, (decision) => {
      if (decision === 'pass') send(msg);
      if (!closing) shown.show(countsStatus);
      done();
    });
  }

  if (store !== undefined) {
    const { stores, fallback } = contextStores(RED.settings);
    if (!stores.includes(storeName)) {
      storeUnknown = true;
      node.warn(RED._(`${T}.errors.unknown-store`, { store: storeName, stores: stores.join(', '), fallback }));
    }
    shown.showNow({ fill: 'blue', shape: 'ring', text: RED._(`${T}.status.loading`, { store: storeName }) });
    session.load();
  } else {
    shown.showNow(countsStatus());
  }

  node.on('input', (msg, send, done) => {
    if (session.submit({ msg, send, done })) return;
    if (session.sharedBusy) done(new Error(RED._(`${T}.errors.redis-busy`, { limit: MAX_SHARED_IN_FLIGHT })));
    else done(new Error(RED._(`${T}.errors.waiting-full`, { store: storeName, limit: MAX_WAITING })));
  });

  node.on('close', (removed, done) => {
    closing = true;
    shown.close();
    const { waiting, saved } = session.close(removed);
    for (const entry of waiting) entry.done(new Error(RED._(`${T}.errors.closed-while-loading`, { store: storeName })));
    saved.then(() => done());
  });
}

export default function register(RED: NodeAPI): void {
  function SupersimStatusFilterNode(this: Node, config: StatusFilterConfig): void {
    RED.nodes.createNode(this, config);
    setUpStatusFilter(RED, this, config);
  }

  RED.nodes.registerType('supersim-status-filter', SupersimStatusFilterNode);
}
