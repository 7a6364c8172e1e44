/**
 * The CloudProvider port: the small surface every cloud (OpenStack, EC2, the sim) implements and the only
 * way lib/pool reaches a cloud. Calls that change an instance return once the cloud has *accepted* the
 * request; `waitFor` then waits for many instances at once, so an adapter can watch a hundred servers with a
 * few list calls instead of a poll per server. Failures the controller must act on are typed (errors.ts).
 */
import type { WarmState } from '../domain/index.js';

/** What the cloud says about an instance. `building` covers scheduling, image transfer and guest boot. */
export type ProviderStatus = 'building' | 'running' | WarmState | 'error' | 'deleted';

export interface ProviderInstance {
  id: string;
  pool: string;
  host: string;
  status: ProviderStatus;
  /** True while an accepted action (wake, sleep, delete) has not finished. */
  busy: boolean;
  /** Template generation from the instance's tags. */
  generation: number;
  /** Tags and metadata the instance carries (pool membership, generation, purpose …). */
  tags: Readonly<Record<string, string>>;
  createdAt: number;
  /** Why the instance is in `error`, when the cloud says. */
  fault?: string;
}

export interface CreateRequest {
  pool: string;
  /** The host (OpenStack hypervisor, EC2 placement) to launch on. */
  host: string;
  /** Provider-specific launch parameters from the pool template. */
  params: Readonly<Record<string, string>>;
  generation: number;
  /** Extra tags, e.g. the purpose of the launch. Pool and generation tags are added by the adapter. */
  tags?: Readonly<Record<string, string>>;
}

export interface HostCapacity {
  name: string;
  /** Instances the host can hold at once. */
  capacity: number;
  /** Instances that hold a slot now (every status but shelved and deleted). */
  used: number;
}

export interface WaitOptions {
  /** Give up on instances not there after this long (ms of the provider's clock). */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface WaitResult {
  /** Instances that reached the wanted status, as last seen. */
  ready: ProviderInstance[];
  /** Instances that went to `error` or vanished, with the reason. */
  failed: { id: string; reason: string }[];
  /** Instances still not there at the deadline. */
  timedOut: string[];
}

export interface CloudProvider {
  /** Adapter kind: `sim`, `openstack`, `ec2`. */
  readonly kind: string;
  /** The warm states this cloud can hold an instance in. */
  readonly warmStates: readonly WarmState[];
  /** The hosts instances can be placed on, with their capacity. */
  hosts(): Promise<HostCapacity[]>;
  /** Launches one instance on `req.host`; resolves when the cloud accepted it (status `building`). */
  create(req: CreateRequest): Promise<ProviderInstance>;
  /** Puts a running instance into warm state `to`; resolves once accepted. */
  sleep(id: string, to: WarmState): Promise<void>;
  /** Brings an instance sleeping in `from` back to running; resolves once accepted. */
  wake(id: string, from: WarmState): Promise<void>;
  /** Deletes an instance; resolves once accepted. Throws NotFoundError for an unknown id. */
  delete(id: string): Promise<void>;
  /** Throws NotFoundError for an unknown or deleted id. */
  get(id: string): Promise<ProviderInstance>;
  /** Every instance the cloud holds for `pool` (by tag), deleted ones excluded. */
  list(pool: string): Promise<ProviderInstance[]>;
  /** Waits until each instance is in `want` and not busy, has failed, or the timeout passed. */
  waitFor(ids: readonly string[], want: ProviderStatus, options: WaitOptions): Promise<WaitResult>;
}

/** Tag names every adapter writes, so that reconcile can adopt an instance the store lost. */
export const TAGS = {
  pool: 'warmpool:pool',
  generation: 'warmpool:generation',
  purpose: 'warmpool:purpose',
} as const;
