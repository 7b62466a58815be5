/**
 * OpenStack test clouds served by the stand-in (src/local/openstack/standin.ts) and REAL relay
 * processes pointed at them. The cloud's data is in openstack-rules.ts (re-exported here). No vitest
 * imports: usable from a globalSetup.
 */
import type { CloudCpuSeries } from '../../src/local/openstack/model.ts';
import { type Standin, type StandinOptions, startStandin } from '../../src/local/openstack/standin.ts';
import { at, CREDENTIALS, iso, RULES_DAY, ruleCases, rulesCloud } from './openstack-rules.ts';
import { type RelayProcess, type RelayProcessOptions, startRelayProcess } from './relay-process.ts';

export * from './openstack-rules.ts';

/** The relay environment for a stand-in (application credential unless told). */
export function openstackEnv(standin: Standin, extra: Record<string, string> = {}): Record<string, string> {
  return {
    RELAY_OPENSTACK_AUTH_URL: standin.authUrl,
    RELAY_OPENSTACK_APPLICATION_CREDENTIAL_ID: CREDENTIALS.applicationCredential.id,
    RELAY_OPENSTACK_APPLICATION_CREDENTIAL_SECRET: CREDENTIALS.applicationCredential.secret,
    ...extra,
  };
}

export interface OpenStackRelay {
  standin: Standin;
  relay: RelayProcess;
  stop(): Promise<void>;
}

/**
 * A stand-in cloud and a REAL relay process (OpenStack only: no PBS source) pointed at it. With
 * `prometheus`, the relay also reads CPU time from the stand-in's Prometheus.
 */
export async function startOpenStackRelay(
  standinOptions: StandinOptions,
  env: Record<string, string> = {},
  relayOptions: Omit<RelayProcessOptions, 'env' | 'accountingFiles'> & { prometheus?: boolean } = {},
): Promise<OpenStackRelay> {
  const standin = await startStandin(standinOptions);
  try {
    const { prometheus, ...processOptions } = relayOptions;
    const relay = await startRelayProcess({
      ...processOptions,
      accountingFiles: false,
      env: openstackEnv(standin, { ...(prometheus ? { RELAY_PROMETHEUS_URL: standin.prometheusUrl } : {}), ...env }),
    });
    return {
      standin,
      relay,
      async stop() {
        await relay.stop();
        await standin.close();
      },
    };
  } catch (err) {
    await standin.close();
    throw err;
  }
}

/** `/v1/instances` for RULES_DAY (or another UTC day). */
export const instancesPath = (dayText = RULES_DAY) => {
  const from = Date.parse(`${dayText}T00:00:00Z`);
  return `/v1/instances?from=${iso(from).replace('.000Z', 'Z')}&to=${iso(from + 86_400_000).replace('.000Z', 'Z')}`;
};

/**
 * The collector tests' clouds (globalSetup): the rules cloud with Prometheus (a quarter CPU all day
 * for the one server of the project Keystone no longer has), and the same cloud failing the second
 * page of its live listing with a 503.
 */
export async function startCollectorClouds(): Promise<OpenStackRelay[]> {
  const measured = ruleCases().find((c) => c.rule === 'in a project Keystone no longer has')!.server.id;
  const samples: [number, number][] = [];
  for (let t = at(0) - 600_000; t <= at(24) + 600_000; t += 60_000) samples.push([t, 0.25 * ((t - at(0)) / 1000 + 3600)]);
  const cpu: CloudCpuSeries[] = [{ instance: 'compute-1:9177', domain: 'instance-0000beef', serverId: measured, samples }];
  const started = await Promise.allSettled([
    startOpenStackRelay({ cloud: { ...rulesCloud(), cpu }, maxLimit: 4 }, {}, { prometheus: true }),
    startOpenStackRelay({ cloud: rulesCloud(), maxLimit: 4, faults: { serverPage: { listing: 'live', page: 2, status: 503 } } }),
  ]);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw failed.reason;
  }
  return started.map((s) => (s as PromiseFulfilledResult<OpenStackRelay>).value);
}
