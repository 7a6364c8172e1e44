/**
 * OpenStackProvider: the CloudProvider port on OpenStack Nova, through warmpool's own Keystone v3 and Nova
 * clients. Servers launch tagged and with metadata naming their pool, template generation and purpose; they
 * sleep paused, suspended, shelved or stopped (or stay running, pre-booted) through Nova's server actions,
 * and every change returns once Nova accepted it (202). `waitFor` watches any number of servers with a few
 * list calls: one listing of warmpool's servers, then listings of what changed since the last one.
 *
 * Hosts. A warmpool host is a nova-compute host. Launching onto a named host (`host` at microversion 2.74,
 * or the forced-host zone `zone:host` before it) and unshelving onto one (2.91) are admin-only under Nova's
 * default policy. With `placement: 'pinned'` the provider always pins (credentials must allow it); with
 * `'hostId'` it never does; with `'auto'` (the default) it pins until Nova refuses with 403, then warns once
 * and stops pinning. Without pinning the scheduler chooses the host, and the provider still knows where
 * each server stands: Nova shows every user a `hostId`, sha224(project id + host name), and the provider
 * matches it against the configured host names. The trade-off: without admin rights per-host pools are
 * *accounted* exactly (hosts(), get, list and reconcile see the true host) but not *enforced* (a refill
 * asked for host A may land on B, and an unshelved server may come back elsewhere); warmpool's per-host
 * targets then converge through reconcile rather than by construction.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock/index.js';
import type { WarmState } from '../../domain/index.js';
import type { Logger } from '../../log/index.js';
import {
  isNotFound,
  isRateLimited,
  isRetryable,
  NotFoundError,
  PermissionError,
  UnsupportedError,
} from '../errors.js';
import {
  type CloudProvider,
  type CreateRequest,
  type HostCapacity,
  type ProviderInstance,
  type ProviderStatus,
  TAGS,
  type WaitOptions,
  type WaitResult,
} from '../port.js';
import { resolveImage } from './glance.js';
import { type FetchLike, Http } from './http.js';
import { type EndpointInterface, type KeystoneCredentials, KeystoneSession } from './keystone.js';
import { type LaunchPlacement, launchParamsProblems, serverBody } from './launch.js';
import { MICROVERSIONS, NovaClient, type NovaServer } from './nova.js';
import {
  HOST_KEY,
  type HostNaming,
  hostNaming,
  launchTags,
  MANAGED_TAG,
  novaTag,
  viewOf,
} from './servers.js';

/** The warm states Nova can hold a server in. */
export const OPENSTACK_WARM_STATES: readonly WarmState[] = [
  'paused',
  'suspended',
  'stopped',
  'shelved',
  'running',
];

export const OPENSTACK_PLACEMENTS = ['auto', 'pinned', 'hostId'] as const;
/** How launches reach their host; see the module comment for the trade-off. */
export type OpenStackPlacement = (typeof OPENSTACK_PLACEMENTS)[number];

/** The warm states Nova holds a server in by an action (running needs none; hibernation is EC2's). */
type NovaWarmState = Exclude<WarmState, 'running' | 'hibernated'>;
type NovaAction = Readonly<Record<NovaWarmState, { action: string; policy: string }>>;

/** Nova's action and policy rule for each sleep and wake. */
const SLEEP: NovaAction = {
  paused: { action: 'pause', policy: 'os_compute_api:os-pause-server:pause' },
  suspended: { action: 'suspend', policy: 'os_compute_api:os-suspend-server:suspend' },
  shelved: { action: 'shelve', policy: 'os_compute_api:os-shelve:shelve' },
  stopped: { action: 'os-stop', policy: 'os_compute_api:servers:stop' },
};
const WAKE: NovaAction = {
  paused: { action: 'unpause', policy: 'os_compute_api:os-pause-server:unpause' },
  suspended: { action: 'resume', policy: 'os_compute_api:os-suspend-server:resume' },
  shelved: { action: 'unshelve', policy: 'os_compute_api:os-shelve:unshelve' },
  stopped: { action: 'os-start', policy: 'os_compute_api:servers:start' },
};

const CREATE_POLICY = 'os_compute_api:servers:create';
const PIN_POLICY = {
  host: 'compute:servers:create:requested_destination',
  'forced-host': 'os_compute_api:servers:create:forced_host',
  unshelve: 'os_compute_api:os-shelve:unshelve_to_host',
} as const;

/** How long a flavor or image name stays resolved (ms): a new image under the old name is seen soon. */
const NAME_CACHE_MS = 60_000;

export interface OpenStackProviderOptions {
  /** Timers of `waitFor` and token lifetimes run on it. */
  clock: Clock;
  credentials: KeystoneCredentials;
  region?: string;
  /** Catalog interface of the endpoints, default `public`. */
  interface?: EndpointInterface;
  /** The compute hosts warmpool may launch on, each with the most servers warmpool keeps there. */
  hosts: readonly { name: string; capacity: number }[];
  /** Default `auto`. */
  placement?: OpenStackPlacement;
  /** Requests in flight per endpoint, default 10. */
  maxConcurrency?: number;
  /** Longest wait for one answer, default 30 s. */
  requestTimeoutMs?: number;
  /** Polling of `waitFor`: first pause and longest pause (ms of the clock), default 1 s and 5 s. */
  poll?: { initialMs?: number; maxMs?: number };
  /**
   * A changes-since listing asks from the previous listing's time (Nova's Date header) minus this, default
   * 5 s: the Date header has whole seconds, and a change may be committed just after a listing read.
   */
  changesSinceMarginMs?: number;
  /**
   * A server `waitFor` waits on that no listing has shown for this long is asked for by id, default 15 s:
   * a deletion Nova already purged, or a change a listing missed, must not hold a wait to its deadline.
   */
  staleAfterMs?: number;
  /** Renew the token when less than this is left, default 5 minutes. */
  tokenRefreshMarginMs?: number;
  /** Servers per page of a listing, default 1000. */
  pageSize?: number;
  log?: Logger;
  /** Node's fetch by default (tests may pass another). */
  fetch?: FetchLike;
}

/**
 * The CloudProvider port on OpenStack.
 *
 * @example
 * const { credentials, region } = loadOpenStackCredentials({ cloud: 'prod' });
 * const openstack = new OpenStackProvider({
 *   clock: new SystemClock(),
 *   credentials,
 *   region,
 *   hosts: [{ name: 'cmp-01', capacity: 40 }, { name: 'cmp-02', capacity: 40 }],
 * });
 * const inst = await openstack.create({ pool: 'web', host: 'cmp-01', params: { flavor: 'm1.small', image: 'debian-12', network: netId }, generation: 1 });
 * await openstack.waitFor([inst.id], 'running', { timeoutMs: 600_000 });
 */
export class OpenStackProvider implements CloudProvider {
  readonly kind = 'openstack';
  readonly warmStates: readonly WarmState[] = OPENSTACK_WARM_STATES;
  readonly keystone: KeystoneSession;
  readonly nova: NovaClient;

  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly iface: EndpointInterface;
  private readonly region: string | undefined;
  private readonly hostsByName = new Map<string, { name: string; capacity: number }>();
  private readonly naming: HostNaming;
  private readonly placement: OpenStackPlacement;
  /** Whether launches are pinned: `unknown` until Nova accepted or refused one (auto). */
  private pinning: 'yes' | 'no' | 'unknown';
  /** False once Nova refused os-hypervisors: capacity then comes from config only. */
  private hypervisorsReadable: boolean;
  private readonly pollInitialMs: number;
  private readonly pollMaxMs: number;
  private readonly marginMs: number;
  private readonly staleAfterMs: number;
  private readonly names = new Map<string, { id: string; at: number }>();

  constructor(options: OpenStackProviderOptions) {
    this.clock = options.clock;
    this.log = options.log;
    this.iface = options.interface ?? 'public';
    this.region = options.region;
    for (const h of options.hosts) {
      if (!Number.isInteger(h.capacity) || h.capacity < 0) {
        throw new RangeError(
          `openstack host ${h.name}: capacity must be an integer >= 0 (got ${h.capacity})`,
        );
      }
      if (this.hostsByName.has(h.name)) throw new RangeError(`openstack host ${h.name} is listed twice`);
      this.hostsByName.set(h.name, { name: h.name, capacity: h.capacity });
    }
    this.naming = hostNaming([...this.hostsByName.keys()]);
    this.placement = options.placement ?? 'auto';
    this.pinning = this.placement === 'pinned' ? 'yes' : this.placement === 'hostId' ? 'no' : 'unknown';
    this.hypervisorsReadable = this.placement !== 'hostId';
    this.pollInitialMs = options.poll?.initialMs ?? 1_000;
    this.pollMaxMs = Math.max(this.pollInitialMs, options.poll?.maxMs ?? 5_000);
    this.marginMs = options.changesSinceMarginMs ?? 5_000;
    this.staleAfterMs = options.staleAfterMs ?? 15_000;
    const http = new Http({
      timeoutMs: options.requestTimeoutMs ?? 30_000,
      maxConcurrency: options.maxConcurrency ?? 10,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.keystone = new KeystoneSession({
      credentials: options.credentials,
      clock: options.clock,
      http,
      ...(options.tokenRefreshMarginMs === undefined
        ? {}
        : { refreshMarginMs: options.tokenRefreshMarginMs }),
      ...(options.log ? { log: options.log } : {}),
    });
    this.nova = new NovaClient({
      keystone: this.keystone,
      interface: this.iface,
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    });
  }

  /** Whether launches are pinned to their host now (`auto` decides on the first launch). */
  get pinned(): boolean | undefined {
    return this.pinning === 'unknown' ? undefined : this.pinning === 'yes';
  }

  // ── the port ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * The configured hosts. `capacity` is the operator's budget from config; where the credentials may read
   * os-hypervisors (admin), a host whose compute service is down or disabled, or that Nova does not know,
   * has no room beyond what it holds. `used` counts warmpool's servers there that hold a slot (all but
   * shelved ones), located by host name (admin) or hostId.
   */
  async hosts(): Promise<HostCapacity[]> {
    const [listing, usable] = await Promise.all([
      this.nova.listServers({ tags: MANAGED_TAG }),
      this.usableHosts(),
    ]);
    const used = new Map<string, number>();
    for (const server of listing.servers) {
      const view = viewOf(server, this.naming);
      if (view.status === 'shelved' || view.status === 'deleted') continue;
      used.set(view.host, (used.get(view.host) ?? 0) + 1);
    }
    return [...this.hostsByName.values()].map((h) => {
      const n = used.get(h.name) ?? 0;
      const up = usable === undefined || usable.has(h.name);
      return { name: h.name, capacity: up ? h.capacity : Math.min(h.capacity, n), used: n };
    });
  }

  async create(req: CreateRequest): Promise<ProviderInstance> {
    if (!this.hostsByName.has(req.host)) {
      throw new NotFoundError(
        `openstack: no host "${req.host}" (configured: ${[...this.hostsByName.keys()].join(', ') || 'none'})`,
      );
    }
    const problems = launchParamsProblems(req.params);
    if (problems.length > 0) {
      throw new UnsupportedError(
        `openstack: pool ${req.pool} template params: ${problems.map((p) => `${p.param}: ${p.message}`).join('; ')}`,
      );
    }
    await this.nova.microversions();
    const [flavorRef, imageRef] = await Promise.all([
      this.resolveName('flavor', req.params.flavor!),
      this.resolveName('image', req.params.image!),
    ]);
    // The adapter's own keys win: membership must not be overridable by a caller's extra tags.
    const metadata: Record<string, string> = {
      ...req.tags,
      [TAGS.pool]: req.pool,
      [TAGS.generation]: String(req.generation),
      [HOST_KEY]: req.host,
    };
    const ordered = { [TAGS.pool]: req.pool, [TAGS.generation]: String(req.generation), ...metadata };
    const base = {
      name: `wp-${req.pool}-${randomUUID().slice(0, 8)}`,
      flavorRef,
      imageRef,
      params: req.params,
      metadata,
      tags: launchTags(ordered),
    };

    let id: string | undefined;
    if (this.pinning !== 'no') {
      const onHost = await this.nova.supports(MICROVERSIONS.createOnHost);
      const kind: 'host' | 'forced-host' = onHost ? 'host' : 'forced-host';
      const placement: LaunchPlacement = { kind, host: req.host };
      try {
        id = await this.nova.createServer(
          serverBody({ ...base, placement }),
          onHost ? MICROVERSIONS.createOnHost : MICROVERSIONS.base,
          { host: req.host, policy: PIN_POLICY[kind] },
        );
        if (this.pinning === 'unknown') this.pinning = 'yes';
      } catch (err) {
        if (!(err instanceof PermissionError)) throw err;
        if (this.placement === 'pinned') {
          throw new PermissionError(
            `${err.message}. placement: pinned needs credentials that Nova's policy ${PIN_POLICY[kind]} allows (admin by default); use placement: auto or hostId to let the scheduler choose`,
            { cause: err },
          );
        }
        this.stopPinning(`create on ${req.host}`, PIN_POLICY[kind]);
      }
    }
    if (id === undefined) {
      id = await this.nova.createServer(
        serverBody({ ...base, placement: { kind: 'scheduler' } }),
        MICROVERSIONS.base,
        {
          host: req.host,
          policy: CREATE_POLICY,
        },
      );
    }
    return {
      id,
      pool: req.pool,
      host: req.host,
      status: 'building',
      busy: true,
      generation: req.generation,
      tags: { ...metadata },
      createdAt: this.clock.now(),
    };
  }

  async sleep(id: string, to: WarmState): Promise<void> {
    this.checkWarmState(to);
    // A pre-booted instance sleeps by staying as it is: nothing to ask Nova.
    if (to === 'running' || to === 'hibernated') return;
    const { action, policy } = SLEEP[to];
    await this.nova.action(id, action, null, { policy });
  }

  async wake(id: string, from: WarmState): Promise<void> {
    this.checkWarmState(from);
    if (from === 'running' || from === 'hibernated') return;
    if (from === 'shelved') {
      await this.unshelve(id);
      return;
    }
    const { action, policy } = WAKE[from];
    await this.nova.action(id, action, null, { policy });
  }

  async delete(id: string): Promise<void> {
    await this.nova.deleteServer(id);
  }

  async get(id: string): Promise<ProviderInstance> {
    const view = viewOf(await this.nova.getServer(id), this.naming);
    // Being deleted is as good as deleted: nothing can be done with it any more.
    if (view.status === 'deleted') {
      throw new NotFoundError(`openstack: server ${id} is ${view.busy ? 'being deleted' : 'deleted'}`);
    }
    return view;
  }

  async list(pool: string): Promise<ProviderInstance[]> {
    const { servers } = await this.nova.listServers({ tags: novaTag(TAGS.pool, pool) });
    return servers
      .map((server) => viewOf(server, this.naming))
      .filter((view) => view.pool === pool && view.status !== 'deleted');
  }

  /**
   * Waits with listings, not a poll per server: the first round lists warmpool's servers (tag `warmpool`)
   * and asks for any id not among them on its own; every later round lists what changed since the previous
   * listing (`changes-since` from Nova's own Date minus a margin), which also shows servers deleted since,
   * as DELETED. Pauses back off from 1 s to 5 s on the clock. A throttled or failed round is retried on the
   * next one, not thrown: the wait has a deadline of its own. A deleted server is ready only when `want` is
   * `deleted`. Rejects with the signal's reason when `options.signal` aborts.
   */
  async waitFor(ids: readonly string[], want: ProviderStatus, options: WaitOptions): Promise<WaitResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const result: WaitResult = { ready: [], failed: [], timedOut: [] };
    const pending = new Set(ids);
    const seen = new Map<string, ProviderInstance>();
    // Servers that warmpool's listing does not show (another project's, or untagged): asked for one by one.
    const direct = new Set<string>();
    // When each pending server was last heard of, by listing or by id.
    const heard = new Map<string, number>([...pending].map((id) => [id, this.clock.now()]));
    const deadline = this.clock.now() + Math.max(0, options.timeoutMs);
    let since: number | undefined;
    let delay = this.pollInitialMs;
    for (;;) {
      let pause = delay;
      try {
        since =
          since === undefined
            ? await this.firstRound(pending, want, seen, result, signal, direct)
            : await this.laterRound(since, pending, want, seen, result, signal, direct, heard);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (!isRetryable(err)) throw err;
        if (isRateLimited(err)) pause = Math.max(pause, err.retryAfterMs);
      }
      signal?.throwIfAborted();
      if (pending.size === 0) return result;
      const left = deadline - this.clock.now();
      if (left <= 0) {
        result.timedOut.push(...pending);
        return result;
      }
      await this.clock.sleep(Math.min(pause, left), signal);
      delay = Math.min(delay * 2, this.pollMaxMs);
    }
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────────────────

  /** Lists warmpool's servers and settles what it can; returns Nova's time of the listing. */
  private async firstRound(
    pending: Set<string>,
    want: ProviderStatus,
    seen: Map<string, ProviderInstance>,
    result: WaitResult,
    signal: AbortSignal | undefined,
    direct: Set<string>,
  ): Promise<number> {
    const listing = await this.nova.listServers({ tags: MANAGED_TAG }, signal);
    const found = new Map(listing.servers.map((s) => [s.id, s]));
    for (const id of [...pending]) {
      const server = found.get(id);
      if (server) this.settle(id, viewOf(server, this.naming), want, seen, result, pending);
      else direct.add(id);
    }
    // Not among warmpool's live servers: gone, never tagged by warmpool, or another project's (which the
    // changes-since listings of later rounds do not show either). Ask for each, now and in later rounds.
    await this.askEach(direct, want, seen, result, pending, signal);
    return listing.serverTime ?? this.clock.now();
  }

  private async askEach(
    direct: Set<string>,
    want: ProviderStatus,
    seen: Map<string, ProviderInstance>,
    result: WaitResult,
    pending: Set<string>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    await Promise.all(
      [...direct].map(async (id) => {
        if (!pending.has(id)) {
          direct.delete(id);
          return;
        }
        let server: NovaServer | undefined;
        try {
          server = await this.nova.getServer(id, signal);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        if (server) this.settle(id, viewOf(server, this.naming), want, seen, result, pending);
        else this.gone(id, want, seen, result, pending);
        if (!pending.has(id)) direct.delete(id);
      }),
    );
  }

  /** Lists what changed since `since` and settles what it can; returns Nova's time of the listing. */
  private async laterRound(
    since: number,
    pending: Set<string>,
    want: ProviderStatus,
    seen: Map<string, ProviderInstance>,
    result: WaitResult,
    signal: AbortSignal | undefined,
    direct: Set<string>,
    heard: Map<string, number>,
  ): Promise<number> {
    const from = new Date(Math.max(0, since - this.marginMs)).toISOString();
    const listing = await this.nova.listServers({ 'changes-since': from }, signal);
    const now = this.clock.now();
    for (const server of listing.servers) {
      if (!pending.has(server.id)) continue;
      heard.set(server.id, now);
      this.settle(server.id, viewOf(server, this.naming), want, seen, result, pending);
    }
    // A server the listings have not shown for a while is asked for by id: a deletion Nova already purged,
    // or a change the listing missed, must not keep a wait going until its deadline.
    for (const id of pending) {
      if (now - (heard.get(id) ?? 0) >= this.staleAfterMs) {
        direct.add(id);
        heard.set(id, now);
      }
    }
    await this.askEach(direct, want, seen, result, pending, signal);
    return listing.serverTime ?? now;
  }

  private settle(
    id: string,
    view: ProviderInstance,
    want: ProviderStatus,
    seen: Map<string, ProviderInstance>,
    result: WaitResult,
    pending: Set<string>,
  ): void {
    // A deleted server's listing has lost its metadata: keep what was seen of it before.
    const before = seen.get(id);
    const current =
      view.status === 'deleted' && before ? { ...before, status: view.status, busy: view.busy } : view;
    seen.set(id, current);
    let done = false;
    if (current.status === 'deleted') {
      if (want !== 'deleted') {
        result.failed.push({ id, reason: 'deleted' });
        done = true;
      } else if (!current.busy) {
        result.ready.push(current);
        done = true;
      }
    } else if (current.status === want && !current.busy) {
      result.ready.push(current);
      done = true;
    } else if (current.status === 'error' && !current.busy && want !== 'deleted') {
      result.failed.push({ id, reason: current.fault ?? 'error' });
      done = true;
    }
    if (done) pending.delete(id);
  }

  /** `id` is unknown to Nova (404): deleted and purged from view, or never there. */
  private gone(
    id: string,
    want: ProviderStatus,
    seen: Map<string, ProviderInstance>,
    result: WaitResult,
    pending: Set<string>,
  ): void {
    pending.delete(id);
    if (want !== 'deleted') {
      result.failed.push({ id, reason: 'not found (deleted)' });
      return;
    }
    const before = seen.get(id);
    result.ready.push(
      before
        ? { ...before, status: 'deleted', busy: false }
        : { id, pool: '', host: '', status: 'deleted', busy: false, generation: 0, tags: {}, createdAt: 0 },
    );
  }

  /**
   * Unshelves `id`. Pinned, a server shelved and offloaded goes back to the host it was launched for
   * (microversion 2.91); otherwise the scheduler chooses, as it does for any unshelve before 2.91.
   */
  private async unshelve(id: string): Promise<void> {
    const { action, policy } = WAKE.shelved;
    if (this.pinning !== 'no' && (await this.nova.supports(MICROVERSIONS.unshelveToHost))) {
      const server = await this.nova.getServer(id);
      const host = server.metadata?.[HOST_KEY];
      // Nova refuses a host for a server that is still on one (SHELVED): it comes back there anyway.
      if (server.status === 'SHELVED_OFFLOADED' && host && this.hostsByName.has(host)) {
        try {
          await this.nova.action(
            id,
            action,
            { host },
            {
              microversion: MICROVERSIONS.unshelveToHost,
              policy: PIN_POLICY.unshelve,
              host,
            },
          );
          if (this.pinning === 'unknown') this.pinning = 'yes';
          return;
        } catch (err) {
          if (!(err instanceof PermissionError) || this.placement === 'pinned') throw err;
          this.stopPinning(`unshelve ${id} onto ${host}`, PIN_POLICY.unshelve);
        }
      }
    }
    await this.nova.action(id, action, null, { policy });
  }

  private stopPinning(what: string, policy: string): void {
    this.pinning = 'no';
    this.hypervisorsReadable = false;
    this.log?.warn(
      { policy },
      `openstack: Nova refused to pin a server to its host (${what}): these credentials lack the admin role that policy ${policy} asks for by default. From now on the scheduler chooses hosts; warmpool accounts servers by hostId, so per-host pools are counted exactly but not enforced. Set placement: hostId to silence this, or give the credentials the role.`,
    );
  }

  /** Configured hosts whose compute service is up and enabled; undefined when that cannot be read. */
  private async usableHosts(): Promise<Set<string> | undefined> {
    if (!this.hypervisorsReadable) return undefined;
    try {
      const hypervisors = await this.nova.hypervisors();
      const up = new Set<string>();
      for (const h of hypervisors) {
        const host = h.service?.host ?? h.hypervisor_hostname;
        if (host && h.state !== 'down' && h.status !== 'disabled') up.add(host);
      }
      return up;
    } catch (err) {
      // Nova busy or down: the configured capacity serves for this round.
      if (isRetryable(err)) return undefined;
      if (!(err instanceof PermissionError)) throw err;
      this.hypervisorsReadable = false;
      this.log?.warn(
        'openstack: os-hypervisors is not readable with these credentials (admin by default): host capacity comes from the config alone',
      );
      return undefined;
    }
  }

  /** The id of a flavor or image given by id or name, cached for a minute. */
  private async resolveName(kind: 'flavor' | 'image', ref: string): Promise<string> {
    const key = `${kind}:${ref}`;
    const cached = this.names.get(key);
    if (cached && this.clock.now() - cached.at < NAME_CACHE_MS) return cached.id;
    let id: string;
    if (kind === 'image') {
      id = await resolveImage(
        this.keystone,
        { interface: this.iface, ...(this.region ? { region: this.region } : {}) },
        ref,
      );
    } else {
      const flavor = await this.nova.findFlavor(ref);
      if (!flavor) throw new UnsupportedError(`openstack: no flavor "${ref}" (give a flavor id or name)`);
      id = flavor.id;
    }
    this.names.set(key, { id, at: this.clock.now() });
    return id;
  }

  private checkWarmState(state: WarmState): void {
    if (!this.warmStates.includes(state)) {
      throw new UnsupportedError(
        `openstack cannot hold "${String(state)}" (supported: ${this.warmStates.join(', ')})`,
      );
    }
  }
}
