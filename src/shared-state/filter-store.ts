/**
 * The status filter's per-command state in Redis (issue 15, item 3): `filter:<nodeId>:<commandSid>`
 * holds the last status, judged and written by one script, so two instances given two statuses of
 * one command at once cannot both let a change through. Each key lives as long as the in-memory
 * entry would: ttl from its last forward change.
 */
import type { SharedFilterStore, StoredTransition, TransitionTable } from '../filter';
import type { CommandStatus } from '../shared';
import type { SharedRedis } from './connection';

/**
 * ARGV: the status, the ttl, then pairs (status a command may be at, verdict) from the TypeScript
 * rule. A value no pair names (written by something else) counts as no status.
 */
const TRANSITION = `
local previous = redis.call('GET', KEYS[1])
if previous then
  for i = 3, #ARGV, 2 do
    if ARGV[i] == previous then
      if ARGV[i + 1] == 'forward' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
      return ARGV[i + 1]
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'first'
`;

/**
 * One script, so that a status judged after a reset of every command meets the reset finished. Keys
 * are found with SCAN, in steps, rather than KEYS, which would stop Redis for the whole keyspace.
 */
const RESET_ALL = `
local cursor = '0'
local deleted = 0
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do deleted = deleted + redis.call('DEL', key) end
until cursor == '0'
return deleted
`;

const VERDICTS = new Set<string>(['first', 'forward', 'duplicate', 'regression', 'after-final']);

/** A key prefix or node id may hold characters SCAN's MATCH reads as a pattern. */
function globEscaped(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export class RedisFilterStore implements SharedFilterStore {
  readonly #redis: SharedRedis;
  readonly #nodeId: string;

  constructor(redis: SharedRedis, nodeId: string) {
    this.#redis = redis;
    this.#nodeId = nodeId;
  }

  /** The key of one command's state (with the connection's prefix). */
  keyOf(sid: string): string {
    return this.#redis.key('filter', this.#nodeId, sid);
  }

  async transition(sid: string, status: CommandStatus, verdicts: TransitionTable, ttlMs: number): Promise<StoredTransition> {
    const args = [status, String(Math.max(1, Math.ceil(ttlMs)))];
    for (const [previous, verdict] of verdicts) args.push(previous, verdict);
    const answer = await this.#redis.run((client) => client.eval(TRANSITION, { keys: [this.keyOf(sid)], arguments: args }));
    const verdict = String(answer);
    if (!VERDICTS.has(verdict)) throw new Error(`the status filter's script answered ${verdict}`);
    return verdict as StoredTransition;
  }

  async reset(sid?: string): Promise<void> {
    if (sid !== undefined) {
      await this.#redis.run((client) => client.del(this.keyOf(sid)));
      return;
    }
    const pattern = `${globEscaped(this.#redis.key('filter', this.#nodeId))}:*`;
    await this.#redis.run((client) => client.eval(RESET_ALL, { keys: [], arguments: [pattern] }));
  }
}
