/**
 * The Redis side of shared pending attempts: one hash per node (`pending:<nodeId>`, field = record id,
 * value = the record with its owner), the owners' leases (`lease:<nodeId>:<instanceId>`), and the set
 * of instances that own records (`owners:<nodeId>`), so that a scan finds a dead owner without reading
 * every record. Every change is a Lua script: Redis runs each one alone, so two instances never both
 * take the same record, and an instance that lost a record to another never writes over it.
 *
 * Scripts name leases of other instances from a key prefix passed in: fine on one Redis (or a
 * replicated pair), not on Redis Cluster, where keys a script touches must be declared.
 */
import type { RedisCommandClient, SharedRedis } from '../shared-state';
import type { StoredRecord } from './types';

export const SHARED_PENDING_VERSION = 1;

/** The slice of the shared connection a store uses. */
export type LeaseRedis = Pick<SharedRedis, 'instanceId' | 'health' | 'key' | 'run' | 'onHealth'>;

/** The owner comes first, so a script reads it (and rewrites it) without parsing the record. */
export function sharedValueOf(owner: string, record: StoredRecord): string {
  const json: unknown = JSON.stringify(record);
  if (typeof json !== 'string') throw new TypeError(`The pending record ${JSON.stringify(record.id)} cannot be saved as JSON`);
  return `{"owner":${JSON.stringify(owner)},"version":${SHARED_PENDING_VERSION},"record":${json}}`;
}

/** The record of a stored value; undefined for a value this version cannot use. */
export function recordOfShared(value: string): unknown {
  try {
    const parsed = JSON.parse(value) as { version?: unknown; record?: unknown };
    return parsed.version === SHARED_PENDING_VERSION ? parsed.record : undefined;
  } catch {
    return undefined;
  }
}

const OWNER_OF = `
local function ownerOf(value)
  return string.match(value, '^{"owner":"([^"]*)"')
end
`;

/**
 * KEYS: hash, owners set. ARGV: me, lease key prefix, then (op 'p'|'d', id, value) triples. A field is
 * written or deleted only when it is absent, this instance's, or its owner's lease ran out; otherwise
 * another live instance has it, and its id is returned as lost.
 */
const WRITE = `${OWNER_OF}
local me, leasePrefix = ARGV[1], ARGV[2]
local lost = {}
local wrote = false
for i = 3, #ARGV, 3 do
  local op, id, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local existing = redis.call('HGET', KEYS[1], id)
  local owner = existing and ownerOf(existing)
  if owner and owner ~= me and redis.call('EXISTS', leasePrefix .. owner) == 1 then
    table.insert(lost, id)
  elseif op == 'p' then
    redis.call('HSET', KEYS[1], id, value)
    wrote = true
  elseif existing then
    redis.call('HDEL', KEYS[1], id)
  end
end
if wrote then redis.call('SADD', KEYS[2], me) end
return lost
`;

/**
 * KEYS: hash, owners set. ARGV: me, lease key prefix, most records to take. Takes the records of every
 * owner whose lease is gone (owner := me) and returns them as id, value pairs; an owner left with no
 * records leaves the set.
 */
const CLAIM = `${OWNER_OF}
local me, leasePrefix, room = ARGV[1], ARGV[2], tonumber(ARGV[3])
local dead = {}
local anyDead = false
for _, owner in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if owner ~= me and redis.call('EXISTS', leasePrefix .. owner) == 0 then
    dead[owner] = true
    anyDead = true
  end
end
if not anyDead then return {} end
local claimed = {}
local taken = 0
local left = {}
local mine = '{"owner":"' .. me .. '"'
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local id, value = all[i], all[i + 1]
  local owner = ownerOf(value)
  if owner and dead[owner] then
    if taken < room then
      local moved = mine .. string.sub(value, #owner + 12)
      redis.call('HSET', KEYS[1], id, moved)
      table.insert(claimed, id)
      table.insert(claimed, moved)
      taken = taken + 1
    else
      left[owner] = true
    end
  end
end
for owner in pairs(dead) do
  if not left[owner] then redis.call('SREM', KEYS[2], owner) end
end
if taken > 0 then redis.call('SADD', KEYS[2], me) end
return claimed
`;

/** KEYS: hash, owners set, my lease. ARGV: me. Drops this instance's records and its lease (the node was deleted). */
const DROP_MINE = `${OWNER_OF}
local me = ARGV[1]
local all = redis.call('HGETALL', KEYS[1])
local dropped = 0
for i = 1, #all, 2 do
  if ownerOf(all[i + 1]) == me then
    redis.call('HDEL', KEYS[1], all[i])
    dropped = dropped + 1
  end
end
redis.call('SREM', KEYS[2], me)
redis.call('DEL', KEYS[3])
return dropped
`;

/** KEYS: my lease. ARGV: me, lease ms. 1 when the lease was still there. */
const RENEW = `
local had = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return had
`;

/** Most bytes of record values in one script call: a big store is written in several, each bounded. */
export const MAX_CALL_CHARS = 1024 * 1024;

export interface WriteOp {
  op: 'p' | 'd';
  id: string;
  value: string;
}

/** The keys of one node's shared pending attempts, and the scripts on them. */
export class PendingKeys {
  readonly hash: string;
  readonly owners: string;
  readonly leasePrefix: string;
  readonly #redis: LeaseRedis;

  constructor(redis: LeaseRedis, nodeId: string) {
    this.#redis = redis;
    this.hash = redis.key('pending', nodeId);
    this.owners = redis.key('owners', nodeId);
    this.leasePrefix = `${redis.key('lease', nodeId)}:`;
  }

  get me(): string {
    return this.#redis.instanceId;
  }

  get lease(): string {
    return this.leasePrefix + this.me;
  }

  /** Sets (or renews) this instance's lease for leaseMs; false when there was none to renew. */
  async renew(leaseMs: number): Promise<boolean> {
    return Number(await this.#eval(RENEW, [this.lease], [this.me, String(leaseMs)])) === 1;
  }

  /** Ids that another live instance holds: not written. */
  async write(ops: readonly WriteOp[]): Promise<string[]> {
    const args = [this.me, this.leasePrefix];
    for (const { op, id, value } of ops) args.push(op, id, value);
    return (await this.#eval(WRITE, [this.hash, this.owners], args)) as string[];
  }

  /** The records of instances whose lease ran out, now this one's: [id, value] pairs. */
  async claim(room: number): Promise<Array<[string, string]>> {
    const flat = (await this.#eval(CLAIM, [this.hash, this.owners], [this.me, this.leasePrefix, String(room)])) as string[];
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
    return pairs;
  }

  /** This instance's records as stored (a redeploy on the same instance picks them up). */
  async mine(): Promise<Array<[string, string]>> {
    const all = await this.#redis.run((client) => client.hGetAll(this.hash));
    const prefix = `{"owner":${JSON.stringify(this.me)},`;
    return Object.entries(all as Record<string, string>).filter(([, value]) => value.startsWith(prefix));
  }

  async dropMine(): Promise<number> {
    return Number(await this.#eval(DROP_MINE, [this.hash, this.owners, this.lease], [this.me]));
  }

  #eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#redis.run((client: RedisCommandClient) => client.eval(script, { keys, arguments: args }));
  }
}
