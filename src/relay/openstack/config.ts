/**
 * The relay's OpenStack source, from the RELAY_OPENSTACK_* and RELAY_PROMETHEUS_* variables
 * (docs/openstack.md). Checked by hand like the rest of the relay's configuration (no zod at
 * start-up); messages name the key and never its value.
 */

export const OPENSTACK_INTERFACES = ['public', 'internal', 'admin'] as const;
export type OpenStackInterface = (typeof OPENSTACK_INTERFACES)[number];

export type OpenStackAuth =
  | { method: 'application_credential'; id: string; secret: string }
  | {
      method: 'password';
      username: string;
      password: string;
      userDomainName: string;
      projectName: string;
      projectDomainName: string;
    };

export interface OpenStackConfig {
  /** Keystone v3, without a trailing slash (…/v3). */
  authUrl: string;
  auth: OpenStackAuth;
  region?: string;
  interface: OpenStackInterface;
  /** PCI alias names that are GPUs; unset: every alias is one. */
  gpuAliases?: string[];
  /** Instance-action requests in flight at once. */
  concurrency: number;
  /** Longest wait for one answer from Keystone, Nova or Prometheus. */
  timeoutMs: number;
  prometheus?: PrometheusConfig;
}

export interface PrometheusConfig {
  /** Base URL (Prometheus or Thanos Query), without credentials and without a trailing slash. */
  url: string;
  /** `Authorization` header built from credentials in the URL (basic auth), if any. */
  authorization?: string;
  /** The window is read in slices this long (memory grows with the samples of one slice). */
  sliceMs: number;
}

type Env = Record<string, string>;

function httpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function wholeNumber(e: Env, key: string, fallback: number, min: number, max: number, problems: string[]): number {
  const text = e[key];
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(value >= min && value <= max)) {
    problems.push(`${key}: must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

/** The OpenStack source when RELAY_OPENSTACK_AUTH_URL is set (undefined otherwise); problems are appended. */
export function parseOpenStackConfig(e: Env, problems: string[]): OpenStackConfig | undefined {
  const openstackKeys = Object.keys(e).filter((k) => k.startsWith('RELAY_OPENSTACK_') || k.startsWith('RELAY_PROMETHEUS_'));
  if (e.RELAY_OPENSTACK_AUTH_URL === undefined) {
    if (openstackKeys.length > 0) {
      problems.push(`RELAY_OPENSTACK_AUTH_URL: is required when ${openstackKeys.sort()[0]} is set`);
    }
    return undefined;
  }
  const before = problems.length;
  const auth = httpUrl(e.RELAY_OPENSTACK_AUTH_URL);
  if (!auth) problems.push('RELAY_OPENSTACK_AUTH_URL: must be an http(s) URL of Keystone v3, e.g. https://keystone.example.org:5000/v3');

  const credential = e.RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID ?? e.RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET;
  const password = e.RELAY_OPENSTACK_USERNAME ?? e.RELAY_OPENSTACK_PASSWORD;
  let authConfig: OpenStackAuth | undefined;
  if (credential !== undefined && password !== undefined) {
    problems.push('RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: set either an application credential or a username and password, not both');
  } else if (credential !== undefined) {
    const { RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: id, RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: secret } = e;
    if (!id) problems.push('RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: is required with RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET');
    if (!secret) problems.push('RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: is required with RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID');
    if (id && secret) authConfig = { method: 'application_credential', id, secret };
  } else if (password !== undefined) {
    const missing = ['RELAY_OPENSTACK_USERNAME', 'RELAY_OPENSTACK_PASSWORD', 'RELAY_OPENSTACK_PROJECT_NAME'].filter((k) => !e[k]);
    for (const key of missing) problems.push(`${key}: is required for password authentication`);
    if (missing.length === 0) {
      authConfig = {
        method: 'password',
        username: e.RELAY_OPENSTACK_USERNAME!,
        password: e.RELAY_OPENSTACK_PASSWORD!,
        userDomainName: e.RELAY_OPENSTACK_USER_DOMAIN_NAME ?? 'Default',
        projectName: e.RELAY_OPENSTACK_PROJECT_NAME!,
        projectDomainName: e.RELAY_OPENSTACK_PROJECT_DOMAIN_NAME ?? 'Default',
      };
    }
  } else {
    problems.push(
      'RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: is required with RELAY_OPENSTACK_AUTH_URL (with RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET), or RELAY_OPENSTACK_USERNAME and RELAY_OPENSTACK_PASSWORD',
    );
  }

  const iface = e.RELAY_OPENSTACK_INTERFACE ?? 'public';
  if (!(OPENSTACK_INTERFACES as readonly string[]).includes(iface)) {
    problems.push(`RELAY_OPENSTACK_INTERFACE: must be one of ${OPENSTACK_INTERFACES.join(', ')}`);
  }
  let gpuAliases: string[] | undefined;
  if (e.RELAY_OPENSTACK_GPU_ALIASES !== undefined) {
    gpuAliases = e.RELAY_OPENSTACK_GPU_ALIASES.split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    if (gpuAliases.length === 0) problems.push('RELAY_OPENSTACK_GPU_ALIASES: must name at least one PCI alias (comma-separated)');
  }
  const concurrency = wholeNumber(e, 'RELAY_OPENSTACK_CONCURRENCY', 4, 1, 32, problems);
  const timeoutMs = wholeNumber(e, 'RELAY_OPENSTACK_TIMEOUT_SECONDS', 60, 1, 3600, problems) * 1000;

  let prometheus: PrometheusConfig | undefined;
  if (e.RELAY_PROMETHEUS_URL !== undefined) {
    const url = httpUrl(e.RELAY_PROMETHEUS_URL);
    if (!url) problems.push('RELAY_PROMETHEUS_URL: must be an http(s) URL of Prometheus or Thanos Query, e.g. http://prometheus:9090');
    const sliceMs = wholeNumber(e, 'RELAY_PROMETHEUS_SLICE_MINUTES', 10, 1, 1440, problems) * 60_000;
    if (url) {
      const authorization = url.username
        ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
        : undefined;
      url.username = '';
      url.password = '';
      prometheus = { url: url.toString().replace(/\/+$/, ''), sliceMs, ...(authorization ? { authorization } : {}) };
    }
  } else if (e.RELAY_PROMETHEUS_SLICE_MINUTES !== undefined) {
    problems.push('RELAY_PROMETHEUS_URL: is required when RELAY_PROMETHEUS_SLICE_MINUTES is set');
  }

  if (problems.length > before || !auth || !authConfig) return undefined;
  const path = auth.pathname.replace(/\/+$/, '');
  auth.pathname = /\/v3$/.test(path) ? path : `${path}/v3`;
  return {
    authUrl: auth.toString().replace(/\/+$/, ''),
    auth: authConfig,
    interface: iface as OpenStackInterface,
    concurrency,
    timeoutMs,
    ...(e.RELAY_OPENSTACK_REGION ? { region: e.RELAY_OPENSTACK_REGION } : {}),
    ...(gpuAliases ? { gpuAliases } : {}),
    ...(prometheus ? { prometheus } : {}),
  };
}
