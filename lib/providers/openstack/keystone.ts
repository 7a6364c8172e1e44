/**
 * Keystone v3: a project-scoped token from a password or an application credential, kept until shortly
 * before it expires and then renewed, and the endpoints of the token's service catalog. `authorized` runs a
 * request with the current token and, when a service answers 401 (the token was revoked or expired on the
 * server's side), authenticates again and retries exactly once. Tokens and secrets go into request headers
 * and bodies only: never into a log line or an error message.
 */
import { z } from 'zod';
import type { Clock } from '../../clock/index.js';
import type { Logger } from '../../log/index.js';
import { formatIssues } from '../../util/index.js';
import { isRetryable, PermissionError } from '../errors.js';
import {
  apiMessage,
  describeCall,
  type OpenStackAnswer,
  OpenStackApiError,
  type OpenStackCall,
  OpenStackConfigError,
  toProviderError,
} from './errors.js';
import type { Http, HttpRequest } from './http.js';

/** A domain by id or by name. */
export type DomainRef = { id: string } | { name: string };
export type UserRef = { id: string } | { name: string; domain: DomainRef };
export type ProjectRef = { id: string } | { name: string; domain: DomainRef };

export interface PasswordCredentials {
  kind: 'password';
  /** Keystone's URL, with or without the trailing `/v3`. */
  authUrl: string;
  user: UserRef;
  password: string;
  project: ProjectRef;
}

/**
 * An application credential is scoped to its project already: by id, or by name with its owner.
 */
export interface ApplicationCredentials {
  kind: 'application_credential';
  authUrl: string;
  credential: { id: string } | { name: string; user: UserRef };
  secret: string;
}

export type KeystoneCredentials = PasswordCredentials | ApplicationCredentials;

export const INTERFACES = ['public', 'internal', 'admin'] as const;
export type EndpointInterface = (typeof INTERFACES)[number];

const EndpointSchema = z.object({
  interface: z.string(),
  url: z.string(),
  region: z.string().nullish(),
  region_id: z.string().nullish(),
});
const CatalogEntrySchema = z.object({
  type: z.string(),
  name: z.string().optional(),
  endpoints: z.array(EndpointSchema),
});
export type CatalogEntry = z.output<typeof CatalogEntrySchema>;

const TokenBodySchema = z.object({
  token: z.object({
    expires_at: z.string(),
    issued_at: z.string().optional(),
    catalog: z.array(CatalogEntrySchema).default(() => []),
    project: z.object({ id: z.string(), name: z.string().optional() }).optional(),
    user: z.object({ id: z.string(), name: z.string().optional() }),
  }),
});

export interface Token {
  /** The X-Subject-Token. Secret. */
  readonly value: string;
  /** When Keystone says it expires (ms since the epoch, Keystone's clock). */
  readonly expiresAt: number;
  /** On the session's clock: the token is renewed from here on … */
  readonly renewAt: number;
  /** … and no longer used from here on. */
  readonly deadAt: number;
  readonly catalog: readonly CatalogEntry[];
  readonly projectId?: string;
  readonly userId: string;
}

export interface KeystoneOptions {
  credentials: KeystoneCredentials;
  /** Token lifetimes are measured on it, so tests can move time on. */
  clock: Clock;
  http: Http;
  /**
   * Renew the token when less than this is left (ms), default 5 minutes; never later than half-way through
   * a short-lived token's life.
   */
  refreshMarginMs?: number;
  log?: Logger;
}

/**
 * `https://keystone:5000`, `…/v3` or `…/v3/` → `…/v3`. Keystone v2.0 is gone since Queens: refused.
 * @example identityV3Url('http://ctl:5000/') // 'http://ctl:5000/v3'
 */
export function identityV3Url(authUrl: string): string {
  const url = authUrl.trim().replace(/\/+$/, '');
  if (/\/v2\.0$/.test(url)) {
    throw new OpenStackConfigError('auth_url', [
      `auth_url ends in /v2.0: Keystone v2.0 is not supported, use the /v3 endpoint`,
    ]);
  }
  return /\/v3$/.test(url) ? url : `${url}/v3`;
}

/** Keystone's `auth` request body for `credentials`. Holds the secret: never log it. */
export function authRequestBody(credentials: KeystoneCredentials): unknown {
  const user = (ref: UserRef) => ('id' in ref ? { id: ref.id } : { name: ref.name, domain: ref.domain });
  if (credentials.kind === 'password') {
    const project = credentials.project;
    return {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { ...user(credentials.user), password: credentials.password } },
        },
        scope: {
          project: 'id' in project ? { id: project.id } : { name: project.name, domain: project.domain },
        },
      },
    };
  }
  const cred = credentials.credential;
  return {
    auth: {
      identity: {
        methods: ['application_credential'],
        application_credential:
          'id' in cred
            ? { id: cred.id, secret: credentials.secret }
            : { name: cred.name, user: user(cred.user), secret: credentials.secret },
      },
    },
  };
}

/** Who authenticates, for messages: user and project names or ids, never a secret. */
export function describeCredentials(credentials: KeystoneCredentials): string {
  const user = (ref: UserRef) => ('id' in ref ? `user id ${ref.id}` : `user ${ref.name}`);
  if (credentials.kind === 'password') {
    const p = credentials.project;
    return `${user(credentials.user)}, project ${'id' in p ? `id ${p.id}` : p.name}`;
  }
  const c = credentials.credential;
  return 'id' in c ? `application credential ${c.id}` : `application credential ${c.name} of ${user(c.user)}`;
}

const normaliseInterface = (value: string) => value.replace(/URL$/, '').toLowerCase();

/**
 * The URL of the `type` service for `iface` (and `region`, when given) in a token's catalog.
 * @example selectEndpoint(catalog, { type: 'compute', interface: 'public', region: 'RegionOne' })
 */
export function selectEndpoint(
  catalog: readonly CatalogEntry[],
  want: { type: string; interface: EndpointInterface; region?: string },
): string {
  const services = catalog.filter((entry) => entry.type === want.type);
  const where = `interface ${want.interface}${want.region ? `, region ${want.region}` : ''}`;
  if (services.length === 0) {
    const types = [...new Set(catalog.map((entry) => entry.type))].sort();
    throw new OpenStackConfigError('service catalog', [
      `no ${want.type} service in the token's catalog (it has: ${types.join(', ') || 'nothing'})`,
    ]);
  }
  const candidates = services.flatMap((entry) =>
    entry.endpoints.filter(
      (ep) =>
        normaliseInterface(ep.interface) === want.interface &&
        (want.region === undefined || ep.region_id === want.region || ep.region === want.region),
    ),
  );
  if (candidates.length === 0) {
    const offered = services.flatMap((entry) =>
      entry.endpoints.map((ep) => `${normaliseInterface(ep.interface)}@${ep.region_id ?? ep.region ?? '-'}`),
    );
    throw new OpenStackConfigError('service catalog', [
      `no ${want.type} endpoint with ${where} (offered: ${[...new Set(offered)].join(', ')})`,
    ]);
  }
  const regions = new Set(candidates.map((ep) => ep.region_id ?? ep.region ?? ''));
  if (want.region === undefined && regions.size > 1) {
    throw new OpenStackConfigError('service catalog', [
      `${want.type} is offered in several regions (${[...regions].sort().join(', ')}): set region (or OS_REGION_NAME)`,
    ]);
  }
  return candidates[0]!.url.replace(/\/+$/, '');
}

/** Renew when less than this is left of a token's life, by default. */
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * A Keystone session: one token at a time, fetched on first use, renewed ahead of expiry, replaced when a
 * service refuses it. Concurrent callers share one authentication.
 *
 * @example
 * const keystone = new KeystoneSession({ credentials, clock, http });
 * const answer = await keystone.authorized({ service: 'nova', op: 'show', id }, (token) => ({
 *   method: 'GET',
 *   url: `${keystone.endpointOf(token, { type: 'compute', interface: 'public' })}/servers/${id}`,
 * }));
 */
export class KeystoneSession {
  private readonly credentials: KeystoneCredentials;
  private readonly clock: Clock;
  private readonly http: Http;
  private readonly marginMs: number;
  private readonly log: Logger | undefined;
  private current: Token | undefined;
  private inFlight: Promise<Token> | undefined;
  /** Authentications made, for tests and metrics. */
  authentications = 0;

  constructor(options: KeystoneOptions) {
    this.credentials = options.credentials;
    this.clock = options.clock;
    this.http = options.http;
    this.marginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.log = options.log;
    // Fails early on a v2.0 URL.
    identityV3Url(this.credentials.authUrl);
  }

  /** Keystone's v3 URL. */
  get identityUrl(): string {
    return identityV3Url(this.credentials.authUrl);
  }

  /** A valid token: the cached one while it is young enough, a fresh one otherwise. */
  async token(): Promise<Token> {
    const t = this.current;
    const now = this.clock.now();
    if (t && now < t.renewAt) return t;
    try {
      return await this.authenticate();
    } catch (err) {
      // Keystone is down while renewing ahead of time: the old token still serves until it dies.
      if (t && now < t.deadAt && isRetryable(err)) {
        this.log?.warn(
          { err: (err as Error).message },
          'openstack: token renewal failed, using the current one',
        );
        return t;
      }
      throw err;
    }
  }

  /** Forgets `token` (a service refused it), unless another caller has replaced it already. */
  invalidate(token: Token): void {
    if (this.current === token) this.current = undefined;
  }

  /** The URL of a service in `token`'s catalog. */
  endpointOf(token: Token, want: { type: string; interface: EndpointInterface; region?: string }): string {
    return selectEndpoint(token.catalog, want);
  }

  /**
   * Sends `build(token)` with the token in X-Auth-Token; on 401, authenticates again and sends once more.
   * Resolves with a success answer (< 400); rejects with the port's typed error otherwise.
   */
  async authorized(
    call: OpenStackCall,
    build: (token: Token) => HttpRequest,
    accept: (answer: OpenStackAnswer) => boolean = (a) => a.status < 400,
  ): Promise<OpenStackAnswer> {
    let token = await this.token();
    let answer = await this.sendWith(token, build(token), call);
    if (answer.status === 401) {
      this.log?.info(
        { service: call.service, op: call.op },
        'openstack: token refused, authenticating again',
      );
      this.invalidate(token);
      token = await this.token();
      answer = await this.sendWith(token, build(token), call);
    }
    if (!accept(answer)) throw toProviderError(answer, call);
    return answer;
  }

  private sendWith(token: Token, req: HttpRequest, call: OpenStackCall): Promise<OpenStackAnswer> {
    return this.http.send({ ...req, headers: { ...req.headers, 'X-Auth-Token': token.value } }, call);
  }

  private authenticate(): Promise<Token> {
    if (!this.inFlight) {
      this.inFlight = this.requestToken().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  private async requestToken(): Promise<Token> {
    const call: OpenStackCall = { service: 'keystone', op: 'authenticate' };
    const sentAt = this.clock.now();
    const answer = await this.http.send(
      { method: 'POST', url: `${this.identityUrl}/auth/tokens`, body: authRequestBody(this.credentials) },
      call,
    );
    // 404: Keystone names an application credential, user or project it does not know.
    if (answer.status === 401 || answer.status === 403 || answer.status === 404) {
      const said = apiMessage(answer.body);
      throw new PermissionError(
        `${describeCall(call)}: ${answer.status}: Keystone refused ${describeCredentials(this.credentials)}` +
          `${said ? ` (${said})` : ''}: check the credentials (secrets are not shown)`,
      );
    }
    if (answer.status !== 201 && answer.status !== 200) throw toProviderError(answer, call);
    const value = answer.headers.get('x-subject-token');
    if (!value)
      throw new OpenStackApiError(answer.status, `${describeCall(call)}: no X-Subject-Token in the answer`);
    const parsed = TokenBodySchema.safeParse(answer.body);
    if (!parsed.success) {
      throw new OpenStackApiError(
        answer.status,
        `${describeCall(call)}: unexpected answer: ${formatIssues(parsed.error.issues).join('; ')}`,
      );
    }
    const body = parsed.data.token;
    const expiresAt = Date.parse(body.expires_at);
    if (Number.isNaN(expiresAt)) {
      throw new OpenStackApiError(answer.status, `${describeCall(call)}: unreadable expires_at`);
    }
    // The life Keystone grants, measured on Keystone's clock, so a skewed local clock does not matter.
    const issuedAt = body.issued_at ? Date.parse(body.issued_at) : Number.NaN;
    const dated = Date.parse(answer.headers.get('date') ?? '');
    const from = Number.isNaN(issuedAt) ? (Number.isNaN(dated) ? Date.now() : dated) : issuedAt;
    const lifeMs = Math.max(0, expiresAt - from);
    const deadAt = sentAt + lifeMs;
    const token: Token = {
      value,
      expiresAt,
      renewAt: deadAt - Math.min(this.marginMs, lifeMs / 2),
      deadAt,
      catalog: body.catalog,
      ...(body.project ? { projectId: body.project.id } : {}),
      userId: body.user.id,
    };
    this.current = token;
    this.authentications++;
    this.log?.debug({ expiresAt: body.expires_at, project: body.project?.name }, 'openstack: authenticated');
    return token;
  }
}
