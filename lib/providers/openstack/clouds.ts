/**
 * Where the OpenStack credentials come from: a cloud of clouds.yaml (with secure.yaml merged over it), found
 * where the OpenStack client tools look, or the OS_* environment variables an openrc file sets. Never from
 * warmpool's own config file. Every problem names the setting (`OS_PASSWORD`, `clouds.prod.auth.username`)
 * and never shows a value.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { OpenStackConfigError } from './errors.js';
import {
  type DomainRef,
  type EndpointInterface,
  INTERFACES,
  type KeystoneCredentials,
  type ProjectRef,
  type UserRef,
} from './keystone.js';

export interface LoadedCredentials {
  credentials: KeystoneCredentials;
  /** `region_name` of the cloud, or OS_REGION_NAME. */
  region?: string;
  /** `interface` of the cloud, or OS_INTERFACE. */
  interface?: EndpointInterface;
  /** Where they came from, for messages: `clouds.yaml /etc/openstack/clouds.yaml, cloud prod` or `OS_* environment`. */
  source: string;
}

export interface CredentialOptions {
  /** A cloud of clouds.yaml; undefined: OS_CLOUD, else the OS_* variables. */
  cloud?: string;
  env?: NodeJS.ProcessEnv;
  /** Where `./clouds.yaml` is looked for (default: the working directory). */
  cwd?: string;
  /** Home directory (default: the user's). */
  home?: string;
  /** The system directory (default: /etc/openstack). */
  etcDir?: string;
}

/**
 * The clouds.yaml (or secure.yaml) files looked at, in order; the first that exists is read.
 * @example configFilePaths('clouds', {}) // ['<cwd>/clouds.yaml', '~/.config/openstack/clouds.yaml', '/etc/openstack/clouds.yaml', …]
 */
export function configFilePaths(kind: 'clouds' | 'secure', options: CredentialOptions = {}): string[] {
  const env = options.env ?? process.env;
  const explicit = kind === 'clouds' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  const dirs = [
    options.cwd ?? process.cwd(),
    join(options.home ?? homedir(), '.config', 'openstack'),
    options.etcDir ?? '/etc/openstack',
  ];
  const names = [`${kind}.yaml`, `${kind}.yml`];
  return [...(explicit ? [resolve(explicit)] : []), ...dirs.flatMap((dir) => names.map((n) => join(dir, n)))];
}

/** The auth settings, keyed as in clouds.yaml's `auth:` map. */
type AuthDict = Record<string, unknown>;

/** OS_* variables and the clouds.yaml keys they stand for. */
const ENV_AUTH_KEYS: Readonly<Record<string, string>> = {
  OS_AUTH_URL: 'auth_url',
  OS_USERNAME: 'username',
  OS_USER_ID: 'user_id',
  OS_PASSWORD: 'password',
  OS_PROJECT_NAME: 'project_name',
  OS_TENANT_NAME: 'project_name',
  OS_PROJECT_ID: 'project_id',
  OS_TENANT_ID: 'project_id',
  OS_USER_DOMAIN_NAME: 'user_domain_name',
  OS_USER_DOMAIN_ID: 'user_domain_id',
  OS_PROJECT_DOMAIN_NAME: 'project_domain_name',
  OS_PROJECT_DOMAIN_ID: 'project_domain_id',
  OS_APPLICATION_CREDENTIAL_ID: 'application_credential_id',
  OS_APPLICATION_CREDENTIAL_NAME: 'application_credential_name',
  OS_APPLICATION_CREDENTIAL_SECRET: 'application_credential_secret',
};

/**
 * The credentials, region and interface to use.
 * @example const { credentials, region } = loadOpenStackCredentials({ cloud: 'prod' });
 */
export function loadOpenStackCredentials(options: CredentialOptions = {}): LoadedCredentials {
  const env = options.env ?? process.env;
  const cloud = options.cloud ?? nonEmpty(env.OS_CLOUD);
  return cloud === undefined ? fromEnvironment(env) : fromCloudsYaml(cloud, options);
}

function fromEnvironment(env: NodeJS.ProcessEnv): LoadedCredentials {
  const source = 'OS_* environment';
  const auth: AuthDict = {};
  const names: Record<string, string> = {};
  // Reverse order, so that OS_PROJECT_NAME wins over the legacy OS_TENANT_NAME it is listed before.
  for (const [variable, key] of Object.entries(ENV_AUTH_KEYS).reverse()) {
    const value = nonEmpty(env[variable]);
    if (value === undefined) continue;
    auth[key] = value;
    names[key] = variable;
  }
  if (Object.keys(auth).length === 0) {
    throw new OpenStackConfigError(source, [
      'no OpenStack credentials: set `cloud` in the provider config (a cloud of clouds.yaml), OS_CLOUD, or the OS_* variables of an openrc file (OS_AUTH_URL and OS_APPLICATION_CREDENTIAL_ID/SECRET, or OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME …)',
    ]);
  }
  const name = (key: string) =>
    names[key] ?? Object.entries(ENV_AUTH_KEYS).find(([, k]) => k === key)?.[0] ?? key;
  const loaded = credentialsOf(auth, nonEmpty(env.OS_AUTH_TYPE), name, 'OS_AUTH_TYPE', source);
  const iface = interfaceOf(
    nonEmpty(env.OS_INTERFACE) ?? nonEmpty(env.OS_ENDPOINT_TYPE),
    'OS_INTERFACE',
    source,
  );
  const region = nonEmpty(env.OS_REGION_NAME);
  return {
    credentials: loaded,
    source,
    ...(region === undefined ? {} : { region }),
    ...(iface === undefined ? {} : { interface: iface }),
  };
}

function fromCloudsYaml(cloud: string, options: CredentialOptions): LoadedCredentials {
  const paths = configFilePaths('clouds', options);
  const path = paths.find((p) => existsSync(p));
  if (path === undefined) {
    throw new OpenStackConfigError(`cloud ${cloud}`, [
      `no clouds.yaml found (looked for ${paths.join(', ')}; OS_CLIENT_CONFIG_FILE names another)`,
    ]);
  }
  const source = `clouds.yaml ${path}, cloud ${cloud}`;
  const clouds = cloudsOf(path, source);
  const entry = clouds[cloud];
  if (!isRecord(entry)) {
    const known = Object.keys(clouds);
    throw new OpenStackConfigError(source, [
      `no cloud "${cloud}" in ${path} (${known.length ? `clouds: ${known.join(', ')}` : 'it defines none'})`,
    ]);
  }
  // secure.yaml holds the secrets of the same clouds, merged over clouds.yaml.
  const securePath = configFilePaths('secure', options).find((p) => existsSync(p));
  const secure = securePath ? cloudsOf(securePath, `secure.yaml ${securePath}`)[cloud] : undefined;
  const merged = isRecord(secure) ? deepMerge(entry, secure) : entry;
  const auth = isRecord(merged.auth) ? merged.auth : {};
  const name = (key: string) => `clouds.${cloud}.auth.${key}`;
  const authType = typeof merged.auth_type === 'string' ? merged.auth_type : undefined;
  const credentials = credentialsOf(auth, authType, name, `clouds.${cloud}.auth_type`, source);
  if (merged.identity_api_version !== undefined && String(merged.identity_api_version) !== '3') {
    throw new OpenStackConfigError(source, [
      `clouds.${cloud}.identity_api_version: only Keystone v3 is supported (got ${String(merged.identity_api_version)})`,
    ]);
  }
  const iface = interfaceOf(
    typeof merged.interface === 'string' ? merged.interface : undefined,
    `clouds.${cloud}.interface`,
    source,
  );
  const region = typeof merged.region_name === 'string' ? nonEmpty(merged.region_name) : undefined;
  return {
    credentials,
    source,
    ...(region === undefined ? {} : { region }),
    ...(iface === undefined ? {} : { interface: iface }),
  };
}

function cloudsOf(path: string, source: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
    throw new OpenStackConfigError(source, [`cannot read ${path}: ${reason}`], { cause: err });
  }
  if (!isRecord(doc) || !isRecord(doc.clouds)) {
    throw new OpenStackConfigError(source, [`${path} has no "clouds:" map`]);
  }
  return doc.clouds;
}

const PASSWORD_TYPES = new Set(['password', 'v3password']);
const APP_CREDENTIAL_TYPES = new Set([
  'v3applicationcredential',
  'application_credential',
  'applicationcredential',
]);

/** Credentials from an auth map; `name(key)` says how the setting is called where it came from. */
function credentialsOf(
  auth: AuthDict,
  authType: string | undefined,
  name: (key: string) => string,
  authTypeName: string,
  source: string,
): KeystoneCredentials {
  const problems: string[] = [];
  const get = (key: string): string | undefined => {
    const v = auth[key];
    return typeof v === 'string' ? nonEmpty(v) : typeof v === 'number' ? String(v) : undefined;
  };
  const need = (key: string, why: string): string => {
    const v = get(key);
    if (v === undefined) problems.push(`${name(key)}: required ${why}`);
    return v ?? '';
  };
  const domain = (prefix: 'user' | 'project'): DomainRef => {
    const id = get(`${prefix}_domain_id`) ?? get('domain_id');
    if (id !== undefined) return { id };
    const dn = get(`${prefix}_domain_name`) ?? get('domain_name');
    // Keystone's own default domain, as the OpenStack client tools assume.
    return dn !== undefined ? { name: dn } : { id: 'default' };
  };
  const user = (why: string): UserRef => {
    const id = get('user_id');
    if (id !== undefined) return { id };
    return { name: need('username', why), domain: domain('user') };
  };

  const type = authType?.toLowerCase();
  const appCredential =
    type === undefined
      ? get('application_credential_secret') !== undefined || get('application_credential_id') !== undefined
      : APP_CREDENTIAL_TYPES.has(type);
  if (type !== undefined && !appCredential && !PASSWORD_TYPES.has(type)) {
    throw new OpenStackConfigError(source, [
      `${authTypeName}: "${authType}" is not supported (use password / v3password or v3applicationcredential)`,
    ]);
  }
  const authUrl = need('auth_url', "(Keystone's URL)");

  let credentials: KeystoneCredentials;
  if (appCredential) {
    const secret = need('application_credential_secret', 'for an application credential');
    const id = get('application_credential_id');
    const credName = get('application_credential_name');
    if (id === undefined && credName === undefined) {
      problems.push(
        `${name('application_credential_id')}: required for an application credential (or ${name('application_credential_name')} with the user)`,
      );
    }
    credentials = {
      kind: 'application_credential',
      authUrl,
      secret,
      credential:
        id !== undefined
          ? { id }
          : { name: credName ?? '', user: user('with an application credential named, not given by id') },
    };
  } else {
    const u = user('(or user_id)');
    const password = need('password', 'for password authentication');
    const projectId = get('project_id');
    let project: ProjectRef;
    if (projectId !== undefined) project = { id: projectId };
    else
      project = {
        name: need('project_name', '(or project_id): warmpool needs a project-scoped token'),
        domain: domain('project'),
      };
    credentials = { kind: 'password', authUrl, user: u, password, project };
  }
  if (problems.length > 0) throw new OpenStackConfigError(source, problems);
  return credentials;
}

function interfaceOf(
  value: string | undefined,
  setting: string,
  source: string,
): EndpointInterface | undefined {
  if (value === undefined) return undefined;
  const normal = value.replace(/URL$/, '').toLowerCase();
  if ((INTERFACES as readonly string[]).includes(normal)) return normal as EndpointInterface;
  throw new OpenStackConfigError(source, [`${setting}: must be public, internal or admin (got "${value}")`]);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    out[key] = isRecord(prior) && isRecord(value) ? deepMerge(prior, value) : value;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === '' ? undefined : v;
}
