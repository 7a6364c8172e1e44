/**
 * The environment `infra/openstack/up` prints, as the tests on the real Nova read it: what must be set, the
 * one failing test a file declares without it (a suite that silently does not run proves nothing), the
 * compute hosts, and the admin's password credentials in OS_* form (what loadOpenStackCredentials and
 * buildProviders read), for the calls Nova's default policy keeps to admins, such as pinning a launch.
 */
import { describe, it } from 'vitest';

export const OPENSTACK_ENV = [
  'OS_AUTH_URL',
  'WARMPOOL_OS_IMAGE',
  'WARMPOOL_OS_FLAVOR',
  'WARMPOOL_OS_HOSTS',
  'WARMPOOL_OS_ADMIN_USERNAME',
  'WARMPOOL_OS_ADMIN_PASSWORD',
  'WARMPOOL_OS_ADMIN_PROJECT_NAME',
] as const;

/** True when the environment names the project's OpenStack; otherwise declares `title`'s one failing test. */
export function needsOpenStack(title: string, file: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const missing = OPENSTACK_ENV.filter((name) => !env[name]);
  if (missing.length === 0) return true;
  describe(title, () => {
    it('needs the OpenStack of infra/openstack/up', () => {
      throw new Error(
        `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: start the project's OpenStack with ` +
          '`infra/openstack/up`, then run this file with its environment: ' +
          `\`set -a && . .infra/openstack/env && set +a && npx vitest run ${file}\``,
      );
    });
  });
  return false;
}

/** The compute hosts of the test cloud. */
export function openStackHosts(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.WARMPOOL_OS_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

/** The admin's password credentials as OS_* variables. */
export function adminOpenStackEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    OS_AUTH_URL: env.OS_AUTH_URL,
    OS_AUTH_TYPE: 'password',
    OS_USERNAME: env.WARMPOOL_OS_ADMIN_USERNAME,
    OS_PASSWORD: env.WARMPOOL_OS_ADMIN_PASSWORD,
    OS_PROJECT_NAME: env.WARMPOOL_OS_ADMIN_PROJECT_NAME,
    OS_USER_DOMAIN_NAME: env.WARMPOOL_OS_ADMIN_USER_DOMAIN_NAME ?? 'Default',
    OS_PROJECT_DOMAIN_NAME: env.WARMPOOL_OS_ADMIN_PROJECT_DOMAIN_NAME ?? 'Default',
    ...(env.OS_REGION_NAME ? { OS_REGION_NAME: env.OS_REGION_NAME } : {}),
  };
}
