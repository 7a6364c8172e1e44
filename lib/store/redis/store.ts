/**
 * The Redis StateStore (ioredis): each multi-key step is one Lua script (scripts.ts), loaded once per
 * connection and run by EVALSHA; all keys of a pool share the hash tag `{pool}`, so the same adapter runs on
 * a standalone Redis and on Redis Cluster. State outlives every controller, so the stateless functions on
 * Lambda and the local runtime share one view of each pool.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Clock } from '../../clock/index.js';
import {
  canTransition,
  IllegalTransitionError,
  type InstanceRecord,
  type InstanceState,
  type IntervalStats,
  LeaseHeldError,
  StaleStateError,
  UnknownInstanceError,
  WarmpoolError,
} from '../../domain/index.js';
import { assertCount, newRecord } from '../claim-order.js';
import type {
  Claim,
  ClaimRequest,
  NewInstance,
  PoolStateEnvelope,
  StateStore,
  TransitionRequest,
  TransitionResult,
} from '../port.js';
import * as lua from './scripts.js';

type Reply = Array<string | number>;
type Script = (...args: Array<string | number>) => Promise<Reply | number>;

/** The scripts as commands; ioredis sends EVALSHA and falls back to EVAL once per node when it must. */
interface ScriptCommands {
  wpInsert: Script;
  wpTransition: Script;
  wpAcquireLease: Script;
  wpRemove: Script;
  wpClaimWarm: Script;
  wpReleaseColdSlots: Script;
  wpReservedSlots: Script;
  wpTryLock: Script;
  wpUnlock: Script;
  wpPutPoolState: Script;
  wpMarkOnce: Script;
  wpMergeInterval: Script;
}

const SCRIPTS: Record<keyof ScriptCommands, { keys: number; lua: string }> = {
  wpInsert: { keys: 5, lua: lua.INSERT },
  wpTransition: { keys: 3, lua: lua.TRANSITION },
  wpAcquireLease: { keys: 1, lua: lua.ACQUIRE_LEASE },
  wpRemove: { keys: 3, lua: lua.REMOVE },
  wpClaimWarm: { keys: 6, lua: lua.CLAIM_WARM },
  wpReleaseColdSlots: { keys: 2, lua: lua.RELEASE_COLD_SLOTS },
  wpReservedSlots: { keys: 3, lua: lua.RESERVED_SLOTS },
  wpTryLock: { keys: 1, lua: lua.TRY_LOCK },
  wpUnlock: { keys: 1, lua: lua.UNLOCK },
  wpPutPoolState: { keys: 1, lua: lua.PUT_POOL_STATE },
  wpMarkOnce: { keys: 1, lua: lua.MARK_ONCE },
  wpMergeInterval: { keys: 1, lua: lua.MERGE_INTERVAL },
};

export interface RedisStoreOptions {
  clock: Clock;
  /** A standalone Redis: `redis://[:password@]host:port[/db]` (or rediss:// for TLS). */
  url?: string;
  /** A Redis Cluster: seed nodes as `host:port`. */
  clusterNodes?: readonly string[];
  /** Key prefix, so several installations can share a Redis (default `warmpool:`). */
  prefix?: string;
  /** Connection options passed to ioredis (timeouts, TLS, retry strategy). */
  redisOptions?: RedisOptions;
  /**
   * Connection errors (ioredis reconnects by itself and retries queued commands meanwhile). Without a
   * handler they are dropped here rather than printed by ioredis.
   */
  onError?: (err: Error) => void;
}

function parseNode(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  const port = Number(node.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port)) throw new Error(`cluster node must be host:port (got "${node}")`);
  return { host: node.slice(0, at), port };
}

/**
 * @example
 * const store = createRedisStore({ clock: new SystemClock(), url: process.env.REDIS_URL });
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const base: RedisOptions = { lazyConnect: false, maxRetriesPerRequest: 20, ...options.redisOptions };
  let client: Redis | Cluster;
  if (options.clusterNodes && options.clusterNodes.length > 0) {
    client = new Cluster(options.clusterNodes.map(parseNode), { redisOptions: base });
  } else if (options.url) {
    client = new Redis(options.url, base);
  } else {
    throw new Error('createRedisStore: give a url or clusterNodes');
  }
  client.on('error', options.onError ?? (() => undefined));
  return new RedisStore(client, options.clock, options.prefix ?? 'warmpool:');
}

export class RedisStore implements StateStore {
  private readonly cmd: ScriptCommands;

  constructor(
    readonly client: Redis | Cluster,
    private readonly clock: Clock,
    private readonly prefix = 'warmpool:',
  ) {
    for (const [name, s] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, { numberOfKeys: s.keys, lua: s.lua });
    }
    this.cmd = client as unknown as ScriptCommands;
  }

  private key(pool: string, part: string): string {
    return `${this.prefix}{${pool}}:${part}`;
  }

  private instanceKeys(pool: string): [string, string, string] {
    return [this.key(pool, 'inst'), this.key(pool, 'warm'), this.key(pool, 'serving')];
  }

  async insert(rec: NewInstance): Promise<InstanceRecord> {
    const now = this.clock.now();
    const record = newRecord(rec, now);
    const reply = (await this.cmd.wpInsert(
      ...this.instanceKeys(rec.pool),
      this.key(rec.pool, 'claims'),
      this.key(rec.pool, 'reserved'),
      rec.id,
      JSON.stringify(record),
      rec.claimId ?? '',
      now,
    )) as Reply;
    if (reply[0] === 'no_cold_slot') {
      throw new WarmpoolError('no_cold_slot', `claim ${rec.claimId} has no cold slot left for ${rec.id}`);
    }
    return parse(reply[1]);
  }

  async get(pool: string, id: string): Promise<InstanceRecord | undefined> {
    const raw = await this.client.hget(this.key(pool, 'inst'), id);
    return raw === null ? undefined : parse(raw);
  }

  async list(pool: string): Promise<InstanceRecord[]> {
    const all = await this.client.hgetall(this.key(pool, 'inst'));
    return Object.values(all).map(parse);
  }

  async transition(pool: string, id: string, req: TransitionRequest): Promise<TransitionResult> {
    const from: readonly InstanceState[] = typeof req.from === 'string' ? [req.from] : req.from;
    for (const f of from) if (!canTransition(f, req.to)) throw new IllegalTransitionError(id, f, req.to);
    const reply = (await this.cmd.wpTransition(
      ...this.instanceKeys(pool),
      id,
      from.join(','),
      req.to,
      req.owner,
      req.leaseMs ?? 60_000,
      req.force ? '1' : '0',
      this.clock.now(),
    )) as Reply;
    switch (reply[0]) {
      case 'ok':
        return { record: parse(reply[1]), changed: true };
      case 'unchanged':
        return { record: parse(reply[1]), changed: false };
      case 'unknown':
        throw new UnknownInstanceError(pool, id);
      case 'stale':
        throw new StaleStateError(id, from, String(reply[1]));
      case 'lease_held':
        throw new LeaseHeldError(id, String(reply[1]));
      default:
        throw new Error(`unexpected reply from transition script: ${String(reply[0])}`);
    }
  }

  async acquireLease(
    pool: string,
    id: string,
    req: { owner: string; leaseMs: number; state?: InstanceState },
  ): Promise<InstanceRecord> {
    const reply = (await this.cmd.wpAcquireLease(
      this.key(pool, 'inst'),
      id,
      req.owner,
      req.leaseMs,
      req.state ?? '',
      this.clock.now(),
    )) as Reply;
    switch (reply[0]) {
      case 'ok':
        return parse(reply[1]);
      case 'unknown':
        throw new UnknownInstanceError(pool, id);
      case 'stale':
        throw new StaleStateError(id, [req.state ?? ''], String(reply[1]));
      case 'lease_held':
        throw new LeaseHeldError(id, String(reply[1]));
      default:
        throw new Error(`unexpected reply from acquireLease script: ${String(reply[0])}`);
    }
  }

  async remove(pool: string, id: string): Promise<boolean> {
    return (await this.cmd.wpRemove(...this.instanceKeys(pool), id)) === 1;
  }

  async claimWarm(pool: string, req: ClaimRequest): Promise<Claim> {
    assertCount('count', req.count);
    assertCount('maxServing', req.maxServing);
    const reply = (await this.cmd.wpClaimWarm(
      ...this.instanceKeys(pool),
      this.key(pool, 'claims'),
      this.key(pool, 'claimexp'),
      this.key(pool, 'reserved'),
      req.claimId,
      req.count,
      req.owner,
      req.leaseMs,
      req.maxServing,
      req.ttlMs,
      this.clock.now(),
    )) as Reply;
    const [status, cold, ...records] = reply;
    return {
      claimId: req.claimId,
      instances: records.map(parse),
      coldSlots: Number(cold),
      fresh: status === 'fresh',
    };
  }

  async reservedSlots(pool: string): Promise<number> {
    return Number(
      await this.cmd.wpReservedSlots(
        this.key(pool, 'claims'),
        this.key(pool, 'claimexp'),
        this.key(pool, 'reserved'),
        this.clock.now(),
      ),
    );
  }

  async releaseColdSlots(pool: string, claimId: string, count: number): Promise<void> {
    await this.cmd.wpReleaseColdSlots(
      this.key(pool, 'claims'),
      this.key(pool, 'reserved'),
      claimId,
      count,
      this.clock.now(),
    );
  }

  async tryLock(pool: string, name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.cmd.wpTryLock(this.key(pool, 'locks'), name, owner, ttlMs, this.clock.now())) === 1;
  }

  async unlock(pool: string, name: string, owner: string): Promise<void> {
    await this.cmd.wpUnlock(this.key(pool, 'locks'), name, owner);
  }

  async getPoolState<T>(pool: string): Promise<PoolStateEnvelope<T> | undefined> {
    const [version, data] = await this.client.hmget(this.key(pool, 'state'), 'version', 'data');
    if (version == null || data == null) return undefined;
    return { version: Number(version), data: JSON.parse(data) as T };
  }

  async putPoolState<T>(pool: string, data: T, expectedVersion: number): Promise<boolean> {
    return (
      (await this.cmd.wpPutPoolState(this.key(pool, 'state'), JSON.stringify(data), expectedVersion)) === 1
    );
  }

  async mergeInterval(
    pool: string,
    metric: string,
    start: number,
    stats: IntervalStats,
    ttlMs: number,
  ): Promise<IntervalStats> {
    const reply = (await this.cmd.wpMergeInterval(
      this.intervalKey(pool, metric, start),
      stats.count,
      stats.sum,
      stats.max,
      stats.last,
      stats.lastTs,
      Math.max(1, Math.ceil(ttlMs)),
    )) as Reply;
    return toStats(reply)!;
  }

  async getInterval(pool: string, metric: string, start: number): Promise<IntervalStats | undefined> {
    const reply = await this.client.hmget(
      this.intervalKey(pool, metric, start),
      'count',
      'sum',
      'max',
      'last',
      'lastTs',
    );
    return toStats(reply);
  }

  private intervalKey(pool: string, metric: string, start: number): string {
    return this.key(pool, `m:${metric}:${start}`);
  }

  async markOnce(pool: string, key: string, ttlMs: number): Promise<boolean> {
    return (await this.cmd.wpMarkOnce(this.key(pool, 'seen'), key, ttlMs, this.clock.now())) === 1;
  }

  async isMarked(pool: string, key: string): Promise<boolean> {
    const expiresAt = await this.client.zscore(this.key(pool, 'seen'), key);
    return expiresAt !== null && Number(expiresAt) > this.clock.now();
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

function toStats(reply: ReadonlyArray<string | number | null>): IntervalStats | undefined {
  if (reply[0] === null || reply[0] === undefined) return undefined;
  const [count, sum, max, last, lastTs] = reply.map(Number) as [number, number, number, number, number];
  return { count, sum, max, last, lastTs };
}

function parse(raw: string | number | undefined): InstanceRecord {
  return JSON.parse(String(raw)) as InstanceRecord;
}
