/** The relay's OpenStack keys (RELAY_OPENSTACK_*, RELAY_PROMETHEUS_*): an OpenStack-only relay is valid. */
import { describe, expect, it } from 'vitest';
import { parseRelayConfig, RelayConfigError } from '../../../src/relay/config.ts';

const SECRET = 'relay-config-secret-0123456789';
const APP_SECRET = 'app-credential-secret-value';
const PASSWORD = 'keystone-password-value';
const base = {
  RELAY_SECRETS: SECRET,
  RELAY_OPENSTACK_AUTH_URL: 'https://keystone.example.org:5000/v3',
  RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: '423f19a4ac1e4f48bbb4180756e6eb6c',
  RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: APP_SECRET,
};

function configError(env: Record<string, string | undefined>): string {
  try {
    parseRelayConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(RelayConfigError);
    const message = (err as Error).message;
    for (const secret of [SECRET, APP_SECRET, PASSWORD, 'hunter2']) expect(message).not.toContain(secret);
    return message;
  }
  throw new Error('expected a configuration error');
}

describe('relay configuration: OpenStack', () => {
  it('an OpenStack-only relay (no PBS source) is valid, with the defaults', () => {
    const config = parseRelayConfig(base);
    expect(config.accounting ?? config.qstat ?? config.db).toBeUndefined();
    expect(config.openstack).toEqual({
      authUrl: 'https://keystone.example.org:5000/v3',
      auth: { method: 'application_credential', id: '423f19a4ac1e4f48bbb4180756e6eb6c', secret: APP_SECRET },
      interface: 'public',
      concurrency: 4,
      timeoutMs: 60_000,
    });
  });

  it('takes a password instead, a region, an interface, GPU aliases, Prometheus (its credentials out of the URL)', () => {
    const config = parseRelayConfig({
      RELAY_SECRETS: SECRET,
      RELAY_ACCOUNTING_DIR: '/var/spool/pbs/server_priv/accounting',
      RELAY_OPENSTACK_AUTH_URL: 'https://keystone.example.org:5000/',
      RELAY_OPENSTACK_USERNAME: 'usage-relay',
      RELAY_OPENSTACK_PASSWORD: PASSWORD,
      RELAY_OPENSTACK_PROJECT_NAME: 'service',
      RELAY_OPENSTACK_REGION: 'RegionTwo',
      RELAY_OPENSTACK_INTERFACE: 'internal',
      RELAY_OPENSTACK_GPU_ALIASES: 'a100, h100,',
      RELAY_OPENSTACK_CONCURRENCY: '8',
      RELAY_OPENSTACK_TIMEOUT_SECONDS: '30',
      RELAY_PROMETHEUS_URL: 'https://reader:s3cret@thanos.example.org/',
      RELAY_PROMETHEUS_SLICE_MINUTES: '30',
    });
    expect(config.accounting).toEqual({ dir: '/var/spool/pbs/server_priv/accounting' });
    expect(config.openstack).toEqual({
      authUrl: 'https://keystone.example.org:5000/v3',
      auth: {
        method: 'password',
        username: 'usage-relay',
        password: PASSWORD,
        userDomainName: 'Default',
        projectName: 'service',
        projectDomainName: 'Default',
      },
      region: 'RegionTwo',
      interface: 'internal',
      gpuAliases: ['a100', 'h100'],
      concurrency: 8,
      timeoutMs: 30_000,
      prometheus: {
        url: 'https://thanos.example.org',
        sliceMs: 1_800_000,
        authorization: `Basic ${Buffer.from('reader:s3cret').toString('base64')}`,
      },
    });
  });

  it('names each bad key, never its value', () => {
    expect(configError({ ...base, RELAY_OPENSTACK_AUTH_URL: 'keystone:5000' })).toMatch(/RELAY_OPENSTACK_AUTH_URL: must be an http\(s\) URL/);
    expect(configError({ ...base, RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: undefined })).toMatch(
      /RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: is required with RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID/,
    );
    expect(configError({ ...base, RELAY_OPENSTACK_PASSWORD: PASSWORD })).toMatch(/either an application credential or a username and password/);
    expect(
      configError({
        RELAY_SECRETS: SECRET,
        RELAY_OPENSTACK_AUTH_URL: base.RELAY_OPENSTACK_AUTH_URL,
        RELAY_OPENSTACK_USERNAME: 'u',
        RELAY_OPENSTACK_PASSWORD: PASSWORD,
      }),
    ).toMatch(/RELAY_OPENSTACK_PROJECT_NAME: is required for password authentication/);
    expect(configError({ RELAY_SECRETS: SECRET, RELAY_OPENSTACK_AUTH_URL: base.RELAY_OPENSTACK_AUTH_URL })).toMatch(
      /RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: is required with RELAY_OPENSTACK_AUTH_URL/,
    );
    expect(configError({ ...base, RELAY_OPENSTACK_INTERFACE: 'private' })).toMatch(
      /RELAY_OPENSTACK_INTERFACE: must be one of public, internal, admin/,
    );
    expect(configError({ ...base, RELAY_OPENSTACK_GPU_ALIASES: ' , ' })).toMatch(/RELAY_OPENSTACK_GPU_ALIASES: must name at least one/);
    expect(configError({ ...base, RELAY_OPENSTACK_CONCURRENCY: '0' })).toMatch(/RELAY_OPENSTACK_CONCURRENCY: must be a whole number from 1 to 32/);
    expect(configError({ ...base, RELAY_PROMETHEUS_URL: 'ftp://user:hunter2@prom' })).toMatch(/RELAY_PROMETHEUS_URL: must be an http\(s\) URL/);
    expect(configError({ ...base, RELAY_PROMETHEUS_SLICE_MINUTES: '10' })).toMatch(
      /RELAY_PROMETHEUS_URL: is required when RELAY_PROMETHEUS_SLICE_MINUTES/,
    );
    // OpenStack keys without the auth URL are a mistake, not a silently ignored source.
    expect(configError({ RELAY_SECRETS: SECRET, RELAY_ACCOUNTING_DIR: '/x', RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: 'x' })).toMatch(
      /RELAY_OPENSTACK_AUTH_URL: is required when RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID is set/,
    );
    expect(configError({ RELAY_SECRETS: SECRET })).toMatch(/at least one source: .*RELAY_OPENSTACK_AUTH_URL/);
  });
});
