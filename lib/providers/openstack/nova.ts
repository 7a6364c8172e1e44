/**
 * A small, exact Nova (compute v2.1) client: the calls warmpool makes and nothing else. Every request names
 * the microversion it needs (OpenStack-API-Version and the older X-OpenStack-Nova-API-Version), chosen
 * against the range the endpoint announces in its version document; answers are decoded with zod, reading
 * only the fields warmpool uses. Listings follow Nova's pagination (`limit`, `marker`, the `next` link).
 */
import { z } from 'zod';
import { formatIssues } from '../../util/index.js';
import { isNotFound, UnsupportedError } from '../errors.js';
import { describeCall, type OpenStackAnswer, OpenStackApiError, type OpenStackCall } from './errors.js';
import type { EndpointInterface, KeystoneSession, Token } from './keystone.js';

// ── microversions ────────────────────────────────────────────────────────────────────────────────────────

/** A compute API microversion, `2.74` as `{ major: 2, minor: 74 }`. */
export interface Microversion {
  major: number;
  minor: number;
}

/** @example parseMicroversion('2.74') // { major: 2, minor: 74 } */
export function parseMicroversion(text: string): Microversion {
  const m = /^(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) throw new RangeError(`not a microversion: "${text}"`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function formatMicroversion(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}

export function compareMicroversions(a: Microversion, b: Microversion): number {
  return a.major - b.major || a.minor - b.minor;
}

/** The microversions warmpool asks for, and why. */
export const MICROVERSIONS = {
  /** Tags at create (2.52), and everything read from a server (tags in the view since 2.26). */
  base: '2.52',
  /** `host` at create: launch on a named compute host (admin by default). */
  createOnHost: '2.74',
  /** `host` at unshelve: back onto a named compute host (admin by default). */
  unshelveToHost: '2.91',
} as const;

/** The range a compute endpoint supports. */
export interface MicroversionRange {
  min: Microversion;
  max: Microversion;
}

const VersionSchema = z.object({
  id: z.string(),
  version: z.string().optional(),
  min_version: z.string().optional(),
});
const VersionDocumentSchema = z.union([
  z.object({ version: VersionSchema }),
  z.object({ versions: z.array(VersionSchema) }),
]);

/** The microversion range of a compute version document (`GET /v2.1/`, or the list at `GET /`). */
export function microversionRange(doc: unknown): MicroversionRange | undefined {
  const parsed = VersionDocumentSchema.safeParse(doc);
  if (!parsed.success) return undefined;
  const v =
    'version' in parsed.data ? parsed.data.version : parsed.data.versions.find((x) => x.id === 'v2.1');
  // v2.0 (the legacy API) announces '' for both: no microversions at all.
  if (!v?.version || !v.min_version) return undefined;
  return { min: parseMicroversion(v.min_version), max: parseMicroversion(v.version) };
}

/**
 * The compute API URL and its version document's URL, from a catalog URL: `…/v2.1`, `…/v2.1/{project}`,
 * a legacy `…/v2/{project}` (moved to v2.1, which has microversions) or an unversioned root.
 */
export function computeUrls(catalogUrl: string): { api: string; versions: string } {
  const url = catalogUrl.replace(/\/+$/, '');
  const m = /^(.*?)\/v2(?:\.0|\.1)?(\/[^/]+)?$/.exec(url);
  if (m) return { api: `${m[1]}/v2.1${m[2] ?? ''}`, versions: `${m[1]}/v2.1/` };
  return { api: `${url}/v2.1`, versions: `${url}/v2.1/` };
}

// ── what Nova answers ────────────────────────────────────────────────────────────────────────────────────

export const NovaServerSchema = z.object({
  id: z.string(),
  status: z.string(),
  tenant_id: z.string().optional(),
  hostId: z.string().nullish(),
  'OS-EXT-SRV-ATTR:host': z.string().nullish(),
  'OS-EXT-STS:task_state': z.string().nullish(),
  'OS-EXT-STS:vm_state': z.string().nullish(),
  metadata: z.record(z.string(), z.string()).optional(),
  tags: z.array(z.string()).optional(),
  created: z.string().optional(),
  updated: z.string().optional(),
  fault: z.object({ message: z.string().optional(), code: z.number().optional() }).optional(),
});
export type NovaServer = z.output<typeof NovaServerSchema>;

const LinkSchema = z.object({ href: z.string(), rel: z.string() });
const ServerPageSchema = z.object({
  servers: z.array(NovaServerSchema),
  servers_links: z.array(LinkSchema).optional(),
});
const ServerShowSchema = z.object({ server: NovaServerSchema });
const CreatedSchema = z.object({ server: z.object({ id: z.string() }) });

const HypervisorSchema = z.object({
  hypervisor_hostname: z.string().optional(),
  state: z.string().optional(),
  status: z.string().optional(),
  service: z.object({ host: z.string().optional() }).optional(),
});
export type NovaHypervisor = z.output<typeof HypervisorSchema>;
const HypervisorPageSchema = z.object({
  hypervisors: z.array(HypervisorSchema),
  hypervisors_links: z.array(LinkSchema).optional(),
});

const FlavorSchema = z.object({ id: z.string(), name: z.string() });
const FlavorShowSchema = z.object({ flavor: FlavorSchema });
const FlavorPageSchema = z.object({
  flavors: z.array(FlavorSchema),
  flavors_links: z.array(LinkSchema).optional(),
});
export type NovaFlavor = z.output<typeof FlavorSchema>;

// ── the client ───────────────────────────────────────────────────────────────────────────────────────────

export interface NovaClientOptions {
  keystone: KeystoneSession;
  interface: EndpointInterface;
  region?: string;
  /** Servers per page of a listing (Nova caps it at its `max_limit`, 1000 by default). */
  pageSize?: number;
}

export interface NovaRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Below the compute API URL, e.g. `/servers/detail`. */
  path: string;
  query?: Readonly<Record<string, string>>;
  body?: unknown;
  microversion: string;
  call: Omit<OpenStackCall, 'service'>;
  signal?: AbortSignal;
}

/** A listing with the server's own time of the first page (its Date header), for the next changes-since. */
export interface ServerListing {
  servers: NovaServer[];
  /** Nova's clock when the listing started, ms since the epoch; undefined without a Date header. */
  serverTime: number | undefined;
}

/**
 * @example
 * const nova = new NovaClient({ keystone, interface: 'public', region: 'RegionOne' });
 * const { servers } = await nova.listServers({ tags: 'warmpool' });
 */
export class NovaClient {
  readonly keystone: KeystoneSession;
  private readonly iface: EndpointInterface;
  private readonly region: string | undefined;
  private readonly pageSize: number;
  private range: Promise<MicroversionRange> | undefined;

  constructor(options: NovaClientOptions) {
    this.keystone = options.keystone;
    this.iface = options.interface;
    this.region = options.region;
    this.pageSize = options.pageSize ?? 1000;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1) {
      throw new RangeError(`pageSize must be an integer >= 1 (got ${this.pageSize})`);
    }
  }

  /** The compute API URL from `token`'s catalog. */
  apiUrl(token: Token): string {
    return computeUrls(
      this.keystone.endpointOf(token, {
        type: 'compute',
        interface: this.iface,
        ...(this.region === undefined ? {} : { region: this.region }),
      }),
    ).api;
  }

  /**
   * The microversions the endpoint supports, read once from its version document. Fails with
   * UnsupportedError when it cannot go as high as warmpool's base (2.52).
   */
  microversions(): Promise<MicroversionRange> {
    if (!this.range) {
      this.range = this.readRange();
      // A failed read (Nova down) is tried again on the next call.
      this.range.catch(() => {
        this.range = undefined;
      });
    }
    return this.range;
  }

  /** True when the endpoint supports `version`. */
  async supports(version: string): Promise<boolean> {
    const range = await this.microversions();
    const v = parseMicroversion(version);
    return compareMicroversions(v, range.min) >= 0 && compareMicroversions(v, range.max) <= 0;
  }

  /** One request; rejects with the port's typed error on an error answer. */
  async request(req: NovaRequest): Promise<OpenStackAnswer> {
    const call: OpenStackCall = { service: 'nova', ...req.call };
    return this.keystone.authorized(call, (token) => {
      const url = new URL(`${this.apiUrl(token)}${req.path}`);
      for (const [key, value] of Object.entries(req.query ?? {})) url.searchParams.set(key, value);
      return {
        method: req.method,
        url: url.toString(),
        headers: {
          'OpenStack-API-Version': `compute ${req.microversion}`,
          'X-OpenStack-Nova-API-Version': req.microversion,
        },
        ...(req.body === undefined ? {} : { body: req.body }),
        ...(req.signal ? { signal: req.signal } : {}),
      };
    });
  }

  async getServer(id: string, signal?: AbortSignal): Promise<NovaServer> {
    const answer = await this.request({
      method: 'GET',
      path: `/servers/${encodeURIComponent(id)}`,
      microversion: MICROVERSIONS.base,
      call: { op: 'show', id, policy: 'os_compute_api:servers:show' },
      ...(signal ? { signal } : {}),
    });
    return decode(ServerShowSchema, answer, { service: 'nova', op: 'show', id }).server;
  }

  /**
   * Every server of a `GET /servers/detail` listing with `filters` (e.g. `tags`, `changes-since`), page
   * after page. The next page's query is taken from the `next` link and sent to our own endpoint: behind a
   * proxy, the link's host may be one this process cannot reach.
   */
  async listServers(filters: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<ServerListing> {
    const out: NovaServer[] = [];
    let serverTime: number | undefined;
    let query: Record<string, string> = { ...filters, limit: String(this.pageSize) };
    const markers = new Set<string>();
    for (;;) {
      const answer = await this.request({
        method: 'GET',
        path: '/servers/detail',
        query,
        microversion: MICROVERSIONS.base,
        call: { op: 'list', policy: 'os_compute_api:servers:detail' },
        ...(signal ? { signal } : {}),
      });
      if (serverTime === undefined) serverTime = dateOf(answer);
      const page = decode(ServerPageSchema, answer, { service: 'nova', op: 'list' });
      out.push(...page.servers);
      const next = nextQuery(page.servers_links, page.servers.at(-1)?.id);
      // No next link, an empty page, or a marker seen before (a loop): done.
      if (!next || page.servers.length === 0 || markers.has(next.marker)) break;
      markers.add(next.marker);
      query = { ...query, ...next.query, marker: next.marker };
    }
    return { servers: out, serverTime };
  }

  /** Launches one server; resolves with its id once Nova accepted it (202). */
  async createServer(
    server: Record<string, unknown>,
    microversion: string,
    call: { host?: string; policy: string },
  ): Promise<string> {
    const answer = await this.request({
      method: 'POST',
      path: '/servers',
      body: { server },
      microversion,
      call: { op: 'create', ...call },
    });
    return decode(CreatedSchema, answer, { service: 'nova', op: 'create' }).server.id;
  }

  /** A server action (`pause`, `os-stop` …) with its argument (null for most); resolves on 202. */
  async action(
    id: string,
    action: string,
    argument: unknown,
    options: { microversion?: string; policy: string; host?: string },
  ): Promise<void> {
    await this.request({
      method: 'POST',
      path: `/servers/${encodeURIComponent(id)}/action`,
      body: { [action]: argument },
      microversion: options.microversion ?? MICROVERSIONS.base,
      call: {
        op: action,
        id,
        policy: options.policy,
        ...(options.host === undefined ? {} : { host: options.host }),
      },
    });
  }

  async deleteServer(id: string): Promise<void> {
    await this.request({
      method: 'DELETE',
      path: `/servers/${encodeURIComponent(id)}`,
      microversion: MICROVERSIONS.base,
      call: { op: 'delete', id, policy: 'os_compute_api:servers:delete' },
    });
  }

  /** Every hypervisor with its compute service host, state and status (admin by default). */
  async hypervisors(): Promise<NovaHypervisor[]> {
    const out: NovaHypervisor[] = [];
    let query: Record<string, string> = {};
    const markers = new Set<string>();
    for (;;) {
      const answer = await this.request({
        method: 'GET',
        path: '/os-hypervisors/detail',
        query,
        microversion: MICROVERSIONS.base,
        call: { op: 'hypervisors', policy: 'os_compute_api:os-hypervisors:list-detail' },
      });
      const page = decode(HypervisorPageSchema, answer, { service: 'nova', op: 'hypervisors' });
      out.push(...page.hypervisors);
      const next = nextQuery(page.hypervisors_links, undefined);
      if (!next || page.hypervisors.length === 0 || markers.has(next.marker)) break;
      markers.add(next.marker);
      query = { ...next.query, marker: next.marker };
    }
    return out;
  }

  /** The flavor `ref` names, by id or else by name; undefined when none matches. */
  async findFlavor(ref: string): Promise<NovaFlavor | undefined> {
    try {
      const answer = await this.request({
        method: 'GET',
        path: `/flavors/${encodeURIComponent(ref)}`,
        microversion: MICROVERSIONS.base,
        call: { op: 'flavor-show', id: ref },
      });
      return decode(FlavorShowSchema, answer, { service: 'nova', op: 'flavor-show' }).flavor;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    let query: Record<string, string> = { is_public: 'None' };
    const markers = new Set<string>();
    for (;;) {
      const answer = await this.request({
        method: 'GET',
        path: '/flavors',
        query,
        microversion: MICROVERSIONS.base,
        call: { op: 'flavor-list' },
      });
      const page = decode(FlavorPageSchema, answer, { service: 'nova', op: 'flavor-list' });
      const found = page.flavors.find((f) => f.name === ref);
      if (found) return found;
      const next = nextQuery(page.flavors_links, page.flavors.at(-1)?.id);
      if (!next || page.flavors.length === 0 || markers.has(next.marker)) return undefined;
      markers.add(next.marker);
      query = { ...query, ...next.query, marker: next.marker };
    }
  }

  private async readRange(): Promise<MicroversionRange> {
    const call: OpenStackCall = { service: 'nova', op: 'versions' };
    const answer = await this.keystone.authorized(call, (token) => ({
      method: 'GET',
      url: computeUrls(
        this.keystone.endpointOf(token, {
          type: 'compute',
          interface: this.iface,
          ...(this.region === undefined ? {} : { region: this.region }),
        }),
      ).versions,
    }));
    const range = microversionRange(answer.body);
    if (!range) {
      throw new UnsupportedError(
        `${describeCall(call)}: the compute endpoint announces no microversions (a v2.0-only Nova); warmpool needs ${MICROVERSIONS.base}`,
      );
    }
    if (compareMicroversions(range.max, parseMicroversion(MICROVERSIONS.base)) < 0) {
      throw new UnsupportedError(
        `${describeCall(call)}: Nova supports microversions up to ${formatMicroversion(range.max)}; warmpool needs ${MICROVERSIONS.base} (tags at create, Queens or later)`,
      );
    }
    return range;
  }
}

/** The Date of an answer, ms since the epoch. */
function dateOf(answer: OpenStackAnswer): number | undefined {
  const at = Date.parse(answer.headers.get('date') ?? '');
  return Number.isNaN(at) ? undefined : at;
}

/** The query of a `next` link and its marker (the last item's id when the link names none). */
function nextQuery(
  links: readonly { href: string; rel: string }[] | undefined,
  lastId: string | undefined,
): { query: Record<string, string>; marker: string } | undefined {
  const next = links?.find((link) => link.rel === 'next');
  if (!next) return undefined;
  let params: URLSearchParams;
  try {
    params = new URL(next.href, 'http://nova.invalid/').searchParams;
  } catch {
    return undefined;
  }
  const query = Object.fromEntries(params);
  const marker = query.marker ?? lastId;
  if (marker === undefined) return undefined;
  delete query.marker;
  return { query, marker };
}

function decode<T>(schema: z.ZodType<T>, answer: OpenStackAnswer, call: OpenStackCall): T {
  const parsed = schema.safeParse(answer.body);
  if (parsed.success) return parsed.data;
  throw new OpenStackApiError(
    answer.status,
    `${describeCall(call)}: unexpected answer: ${formatIssues(parsed.error.issues).slice(0, 3).join('; ')}`,
  );
}
