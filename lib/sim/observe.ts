/**
 * The simulator's view of a run: a StateStore decorator that reports every change of an instance's state,
 * so the simulator counts warm and in-service instances over time without polling the store. The pool
 * code runs on it unchanged.
 *
 * It also keeps the pool state itself, by reference: the controller never changes what it reads (it builds
 * the next state anew), so the copy a shared store must hand out buys nothing in a single-process run,
 * and copying a forecaster's seasonal profile several times per simulated row is most of a run's time.
 */
import type { InstanceRecord, InstanceState } from '../domain/index.js';
import type {
  Claim,
  ClaimRequest,
  NewInstance,
  PoolStateEnvelope,
  StateStore,
  TransitionRequest,
  TransitionResult,
} from '../store/index.js';

/** Called with the state an instance left (or undefined when it is new) and the one it entered. */
export type StateChange = (from: InstanceState | undefined, to: InstanceState | undefined) => void;

export class ObservedStore implements StateStore {
  private readonly states = new Map<string, InstanceState>();
  private readonly poolStates = new Map<string, PoolStateEnvelope<unknown>>();

  constructor(
    private readonly inner: StateStore,
    private readonly onChange: StateChange,
  ) {}

  private moved(rec: InstanceRecord): void {
    const key = `${rec.pool}/${rec.id}`;
    const from = this.states.get(key);
    if (from === rec.state) return;
    this.states.set(key, rec.state);
    this.onChange(from, rec.state);
  }

  async insert(rec: NewInstance): Promise<InstanceRecord> {
    const out = await this.inner.insert(rec);
    this.moved(out);
    return out;
  }

  async transition(pool: string, id: string, req: TransitionRequest): Promise<TransitionResult> {
    const out = await this.inner.transition(pool, id, req);
    this.moved(out.record);
    return out;
  }

  async remove(pool: string, id: string): Promise<boolean> {
    const removed = await this.inner.remove(pool, id);
    const key = `${pool}/${id}`;
    const from = this.states.get(key);
    if (removed && from !== undefined) {
      this.states.delete(key);
      this.onChange(from, undefined);
    }
    return removed;
  }

  async claimWarm(pool: string, req: ClaimRequest): Promise<Claim> {
    const claim = await this.inner.claimWarm(pool, req);
    for (const rec of claim.instances) this.moved(rec);
    return claim;
  }

  get: StateStore['get'] = (pool, id) => this.inner.get(pool, id);
  list: StateStore['list'] = (pool) => this.inner.list(pool);
  acquireLease: StateStore['acquireLease'] = (pool, id, req) => this.inner.acquireLease(pool, id, req);
  releaseColdSlots: StateStore['releaseColdSlots'] = (pool, claimId, count) =>
    this.inner.releaseColdSlots(pool, claimId, count);
  reservedSlots: StateStore['reservedSlots'] = (pool) => this.inner.reservedSlots(pool);
  tryLock: StateStore['tryLock'] = (pool, name, owner, ttlMs) => this.inner.tryLock(pool, name, owner, ttlMs);
  unlock: StateStore['unlock'] = (pool, name, owner) => this.inner.unlock(pool, name, owner);
  async getPoolState<T>(pool: string): Promise<PoolStateEnvelope<T> | undefined> {
    return this.poolStates.get(pool) as PoolStateEnvelope<T> | undefined;
  }

  async putPoolState<T>(pool: string, data: T, expectedVersion: number): Promise<boolean> {
    const version = this.poolStates.get(pool)?.version ?? 0;
    if (version !== expectedVersion) return false;
    this.poolStates.set(pool, { version: version + 1, data });
    return true;
  }
  mergeInterval: StateStore['mergeInterval'] = (pool, metric, start, stats, ttlMs) =>
    this.inner.mergeInterval(pool, metric, start, stats, ttlMs);
  getInterval: StateStore['getInterval'] = (pool, metric, start) =>
    this.inner.getInterval(pool, metric, start);
  markOnce: StateStore['markOnce'] = (namespace, key, ttlMs) => this.inner.markOnce(namespace, key, ttlMs);
  isMarked: StateStore['isMarked'] = (namespace, key) => this.inner.isMarked(namespace, key);
  close: StateStore['close'] = () => this.inner.close();
}
