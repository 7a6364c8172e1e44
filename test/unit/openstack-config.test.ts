/**
 * Where the OpenStack credentials come from (clouds.yaml in each of its places, secure.yaml, OS_CLOUD, the
 * OS_* variables) and what is refused, without a secret in any message; the `openstack` provider's config
 * and a pool template's params, refused with the field's path; and buildProviders making the adapter.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../lib/clock/index.js';
import {
  type ConfigError,
  isConfigError,
  PROVIDER_WARM_STATES,
  parseConfig,
  parseConfigText,
} from '../../lib/config/index.js';
import {
  configFilePaths,
  loadOpenStackCredentials,
  OpenStackConfigError,
  OpenStackProvider,
} from '../../lib/providers/index.js';
import { buildProviders } from '../../lib/runtime/index.js';

const SECRET = 's3cr3t-value-never-shown';

function configErrorOf(run: () => unknown): OpenStackConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof OpenStackConfigError) return err;
    throw err;
  }
  throw new Error('expected an OpenStackConfigError');
}

describe('credentials from the OS_* environment', () => {
  it('reads an application credential (what infra/openstack/up exports)', () => {
    const loaded = loadOpenStackCredentials({
      env: {
        OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
        OS_AUTH_TYPE: 'v3applicationcredential',
        OS_APPLICATION_CREDENTIAL_ID: 'ac-id',
        OS_APPLICATION_CREDENTIAL_SECRET: SECRET,
        OS_REGION_NAME: 'RegionOne',
        OS_INTERFACE: 'public',
      },
    });
    expect(loaded).toEqual({
      credentials: {
        kind: 'application_credential',
        authUrl: 'http://127.0.0.1:5000/v3',
        credential: { id: 'ac-id' },
        secret: SECRET,
      },
      region: 'RegionOne',
      interface: 'public',
      source: 'OS_* environment',
    });
  });

  it('reads a password with user and project by name and domain, defaulting the domains to Keystone’s default', () => {
    const { credentials } = loadOpenStackCredentials({
      env: {
        OS_AUTH_URL: 'http://ctl:5000',
        OS_USERNAME: 'warmpool',
        OS_PASSWORD: SECRET,
        OS_PROJECT_NAME: 'warmpool',
        OS_PROJECT_DOMAIN_NAME: 'Users',
        OS_ENDPOINT_TYPE: 'internalURL',
      },
    });
    expect(credentials).toEqual({
      kind: 'password',
      authUrl: 'http://ctl:5000',
      user: { name: 'warmpool', domain: { id: 'default' } },
      password: SECRET,
      project: { name: 'warmpool', domain: { name: 'Users' } },
    });
    expect(
      loadOpenStackCredentials({
        env: {
          OS_AUTH_URL: 'x',
          OS_USER_ID: 'u1',
          OS_PASSWORD: 'p',
          OS_TENANT_ID: 't1',
          OS_INTERFACE: 'internalURL',
        },
      }),
    ).toMatchObject({
      credentials: { user: { id: 'u1' }, project: { id: 't1' } },
      interface: 'internal',
    });
  });

  it('names every missing variable, and never a value', () => {
    const err = configErrorOf(() =>
      loadOpenStackCredentials({ env: { OS_USERNAME: 'warmpool', OS_PASSWORD: SECRET } }),
    );
    expect(err.problems).toEqual([
      "OS_AUTH_URL: required (Keystone's URL)",
      'OS_PROJECT_NAME: required (or project_id): warmpool needs a project-scoped token',
    ]);
    expect(err.message).not.toContain(SECRET);

    const app = configErrorOf(() =>
      loadOpenStackCredentials({
        env: {
          OS_AUTH_URL: 'x',
          OS_AUTH_TYPE: 'v3applicationcredential',
          OS_APPLICATION_CREDENTIAL_SECRET: SECRET,
        },
      }),
    );
    expect(app.problems[0]).toMatch(/^OS_APPLICATION_CREDENTIAL_ID: required/);

    expect(configErrorOf(() => loadOpenStackCredentials({ env: {} })).message).toContain(
      'no OpenStack credentials',
    );
    expect(
      configErrorOf(() =>
        loadOpenStackCredentials({ env: { OS_AUTH_URL: 'x', OS_AUTH_TYPE: 'v3oidcpassword' } }),
      ).problems,
    ).toEqual([
      'OS_AUTH_TYPE: "v3oidcpassword" is not supported (use password / v3password or v3applicationcredential)',
    ]);
  });
});

describe('credentials from clouds.yaml', () => {
  let dir: string;
  const cwd = () => join(dir, 'cwd');
  const home = () => join(dir, 'home');
  const etc = () => join(dir, 'etc');
  const where = () => ({ cwd: cwd(), home: home(), etcDir: etc() });

  const cloudsYaml = (cloud: string, extra = '') => `
clouds:
  ${cloud}:
    auth:
      auth_url: https://keystone.${cloud}.example:5000/v3
      username: warmpool
      project_name: warmpool
      user_domain_name: Default
      project_domain_id: default
    region_name: Region-${cloud}
    interface: internal
    identity_api_version: 3
${extra}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warmpool-clouds-'));
    await mkdir(cwd(), { recursive: true });
    await mkdir(join(home(), '.config', 'openstack'), { recursive: true });
    await mkdir(etc(), { recursive: true });
    await writeFile(join(etc(), 'clouds.yaml'), cloudsYaml('system'));
    await writeFile(
      join(etc(), 'secure.yaml'),
      `clouds:\n  system:\n    auth:\n      password: ${SECRET}\n  homecloud:\n    auth:\n      password: ${SECRET}\n`,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('looks in ./, ~/.config/openstack/ and /etc/openstack/, OS_CLIENT_CONFIG_FILE first', () => {
    expect(configFilePaths('clouds', { ...where(), env: { OS_CLIENT_CONFIG_FILE: '/x/my.yaml' } })).toEqual([
      '/x/my.yaml',
      join(cwd(), 'clouds.yaml'),
      join(cwd(), 'clouds.yml'),
      join(home(), '.config/openstack/clouds.yaml'),
      join(home(), '.config/openstack/clouds.yml'),
      join(etc(), 'clouds.yaml'),
      join(etc(), 'clouds.yml'),
    ]);
  });

  it('reads the cloud named, with its password from secure.yaml, its region and interface', () => {
    const loaded = loadOpenStackCredentials({ ...where(), cloud: 'system', env: {} });
    expect(loaded.credentials).toEqual({
      kind: 'password',
      authUrl: 'https://keystone.system.example:5000/v3',
      user: { name: 'warmpool', domain: { name: 'Default' } },
      password: SECRET,
      project: { name: 'warmpool', domain: { id: 'default' } },
    });
    expect(loaded.region).toBe('Region-system');
    expect(loaded.interface).toBe('internal');
    expect(loaded.source).toBe(`clouds.yaml ${join(etc(), 'clouds.yaml')}, cloud system`);
  });

  it('takes the first file found, OS_CLOUD when no cloud is configured, and an application credential', async () => {
    await writeFile(
      join(home(), '.config', 'openstack', 'clouds.yaml'),
      `clouds:
  homecloud:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://home:5000
      application_credential_id: ac-home
      application_credential_secret: ${SECRET}
`,
    );
    const loaded = loadOpenStackCredentials({
      ...where(),
      env: { OS_CLOUD: 'homecloud', OS_USERNAME: 'ignored' },
    });
    expect(loaded.credentials).toEqual({
      kind: 'application_credential',
      authUrl: 'http://home:5000',
      credential: { id: 'ac-home' },
      secret: SECRET,
    });
    // ~/.config wins over /etc: `system` is not in the file read.
    const err = configErrorOf(() => loadOpenStackCredentials({ ...where(), cloud: 'system', env: {} }));
    expect(err.problems[0]).toContain('no cloud "system"');
    expect(err.problems[0]).toContain('clouds: homecloud');

    const explicit = join(dir, 'explicit.yaml');
    await writeFile(explicit, cloudsYaml('system'));
    const viaEnv = loadOpenStackCredentials({
      ...where(),
      cloud: 'system',
      env: { OS_CLIENT_CONFIG_FILE: explicit },
    });
    expect(viaEnv.credentials.authUrl).toBe('https://keystone.system.example:5000/v3');
    await rm(join(home(), '.config', 'openstack', 'clouds.yaml'));
  });

  it('says where it looked when there is no clouds.yaml, and what is missing in a cloud, without values', async () => {
    const nowhere = { cwd: join(dir, 'none'), home: join(dir, 'none'), etcDir: join(dir, 'none') };
    const err = configErrorOf(() => loadOpenStackCredentials({ ...nowhere, cloud: 'prod', env: {} }));
    expect(err.problems[0]).toMatch(/^no clouds\.yaml found \(looked for .*clouds\.yaml/);

    await writeFile(
      join(cwd(), 'clouds.yaml'),
      `clouds:\n  broken:\n    auth:\n      username: u\n      password: ${SECRET}\n    identity_api_version: 3\n`,
    );
    const broken = configErrorOf(() => loadOpenStackCredentials({ ...where(), cloud: 'broken', env: {} }));
    expect(broken.problems).toEqual([
      "clouds.broken.auth.auth_url: required (Keystone's URL)",
      'clouds.broken.auth.project_name: required (or project_id): warmpool needs a project-scoped token',
    ]);
    expect(broken.message).not.toContain(SECRET);
    await rm(join(cwd(), 'clouds.yaml'));
  });
});

// ── the provider's config ──────────────────────────────────────────────────────────────────────────────

const NET = '0b9d0d55-6a37-4b36-9c8c-3f0c2b3d4e5f';
const CONFIG = `
providers:
  os:
    kind: openstack
    cloud: prod
    hosts:
      - { name: cmp-01, capacity: 40 }
      - { name: cmp-02, capacity: 20 }
pools:
  - name: web
    provider: os
    template:
      params: { flavor: m1.small, image: debian-12, network: ${NET}, securityGroups: "default, web" }
    warm: { state: paused, hosts: [cmp-01, cmp-02] }
    capacity: { metric: rps, perInstance: 100 }
`;

function problemsOf(text: string): string[] {
  try {
    parseConfig(parseConfigText(text, 'test.yaml'), 'test.yaml', {});
  } catch (err) {
    if (isConfigError(err)) return (err as ConfigError).problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('the openstack provider config', () => {
  it('validates, with defaults for what an operator need not decide', () => {
    const { config } = parseConfig(parseConfigText(CONFIG, 'test.yaml'), 'test.yaml', {});
    expect(config.providers.os).toEqual({
      kind: 'openstack',
      cloud: 'prod',
      hosts: [
        { name: 'cmp-01', capacity: 40 },
        { name: 'cmp-02', capacity: 20 },
      ],
      placement: 'auto',
      maxConcurrency: 10,
      requestTimeoutSeconds: 30,
    });
    expect(PROVIDER_WARM_STATES.openstack).toEqual(['paused', 'suspended', 'stopped', 'shelved', 'running']);
  });

  it('refuses bad fields with their path, and secrets in the file', () => {
    const problems = problemsOf(`
providers:
  os:
    kind: openstack
    password: ${SECRET}
    placement: anywhere
    interface: private
    maxConcurrency: 0
    hosts:
      - { name: cmp-01, capacity: 4 }
      - { name: cmp-01, capacity: 0 }
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^providers\.os\.password: unknown key/),
        expect.stringMatching(/^providers\.os\.placement: must be one of/),
        expect.stringMatching(/^providers\.os\.interface: must be one of/),
        expect.stringMatching(/^providers\.os\.maxConcurrency: /),
        expect.stringMatching(/^providers\.os\.hosts\[1\]\.capacity: /),
      ]),
    );
    expect(problems.join('\n')).not.toContain(SECRET);
    expect(
      problemsOf(`
providers:
  os: { kind: openstack, hosts: [{ name: a, capacity: 1 }, { name: a, capacity: 2 }] }
`),
    ).toEqual(['providers.os.hosts[1].name: duplicate host "a" (already listed as hosts[0])']);
  });

  it('refuses template params OpenStack does not take, and missing ones, naming the param', () => {
    const problems = problemsOf(
      CONFIG.replace(
        `{ flavor: m1.small, image: debian-12, network: ${NET}, securityGroups: "default, web" }`,
        '{ flavor: m1.small, imgae: debian-12, network: private, availabilityZone: "nova:cmp-01" }',
      ),
    );
    expect(problems).toEqual([
      'pools[0].template.params.imgae: unknown OpenStack launch parameter (known: flavor, image, network, keyName, securityGroups, availabilityZone)',
      "pools[0].template.params.image: required: the image's id or name",
      'pools[0].template.params.availabilityZone: must be a zone name without ":" (the host comes from the pool\'s hosts; got "nova:cmp-01")',
      'pools[0].template.params.network: must be a network id (a UUID; several separated by commas), "none" or "auto" (got "private")',
    ]);
  });

  it('refuses a warm state Nova cannot hold and a host the provider does not list', () => {
    const problems = problemsOf(
      CONFIG.replace('state: paused, hosts: [cmp-01, cmp-02]', 'state: hibernated, hosts: [cmp-01, cmp-03]'),
    );
    expect(problems).toEqual([
      'pools[0].warm.state: openstack cannot hold "hibernated" (supported: paused, suspended, stopped, shelved, running)',
      'pools[0].warm.hosts[1]: "cmp-03" is not a host of provider "os" (hosts: cmp-01, cmp-02)',
    ]);
  });
});

describe('buildProviders', () => {
  it('builds an OpenStackProvider with the credentials of the environment', () => {
    const { config } = parseConfig(
      parseConfigText(CONFIG.replace('    cloud: prod\n', ''), 't.yaml'),
      't.yaml',
      {},
    );
    const providers = buildProviders(config, new VirtualClock(), {
      env: {
        OS_AUTH_URL: 'http://127.0.0.1:1/v3',
        OS_APPLICATION_CREDENTIAL_ID: 'ac',
        OS_APPLICATION_CREDENTIAL_SECRET: SECRET,
      },
    });
    const os = providers.get('os');
    expect(os).toBeInstanceOf(OpenStackProvider);
    expect(os?.kind).toBe('openstack');
    expect(os?.warmStates).toEqual(PROVIDER_WARM_STATES.openstack);
  });

  it('fails with OpenStackConfigError when the credentials are missing', () => {
    const { config } = parseConfig(
      parseConfigText(CONFIG.replace('    cloud: prod\n', ''), 't.yaml'),
      't.yaml',
      {},
    );
    expect(() => buildProviders(config, new VirtualClock(), { env: {} })).toThrow(OpenStackConfigError);
  });
});
