/**
 * The cloud a local Keystone + Nova (+ Prometheus) stand-in serves (src/local/openstack/standin.ts):
 * plain data, written by the demo generator for `npm run dev` and the benchmark, and by the tests.
 * Times as Nova prints them: `created`/`updated` as `YYYY-MM-DDThh:mm:ssZ`, `launched_at`,
 * `terminated_at` and an action's `start_time` naive UTC with microseconds.
 */

export interface CloudFlavor {
  id: string;
  name: string;
  vcpus: number;
  /** MiB */
  ram: number;
  /** GiB */
  disk: number;
  /** GiB */
  ephemeral: number;
  extra_specs: Record<string, string>;
}

export interface CloudAction {
  action: string;
  start_time: string;
  request_id: string;
}

export interface CloudServer {
  id: string;
  name: string;
  tenant_id: string;
  user_id: string;
  /** Nova's status: ACTIVE, SHUTOFF, SHELVED_OFFLOADED, ERROR, BUILD, DELETED, … */
  status: string;
  created: string;
  updated: string;
  launched_at: string | null;
  terminated_at: string | null;
  /** The current flavor (what Nova embeds from 2.47). */
  flavor: CloudFlavor;
  /** Any order; served newest first. */
  actions: CloudAction[];
  /** A server in a cell Nova cannot reach (listed as UNKNOWN from 2.69, left out before). */
  downCell?: boolean;
}

export interface CloudProject {
  id: string;
  name: string;
}

/** One libvirt domain's CPU counter as the libvirt exporter exposes it, and the server it is. */
export interface CloudCpuSeries {
  /** The exporter's target (`instance` label), e.g. `compute-1:9177`. */
  instance: string;
  /** The libvirt domain, e.g. `instance-0000002a`. */
  domain: string;
  /** The Nova server (the info series' `instance_id`); none: a domain that is no OpenStack server. */
  serverId?: string;
  /** Extra labels (a second scrape job, a replica label). */
  labels?: Record<string, string>;
  /** Raw samples `[ms, seconds]` in time order. */
  samples: [number, number][];
}

export interface CloudModel {
  servers: CloudServer[];
  projects: CloudProject[];
  /** Flavors Nova still has (an older Nova's servers name theirs by id only). */
  flavors: CloudFlavor[];
  credentials: {
    applicationCredential?: { id: string; secret: string };
    password?: { username: string; password: string; userDomainName: string; projectName: string; projectDomainName: string };
  };
  cpu?: CloudCpuSeries[];
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2026-03-02T10:00:00Z` (Nova's created / updated). */
export const novaStamp = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** `2026-03-02T10:00:00.123456` (Nova's launched_at, terminated_at, start_time: naive UTC, microseconds). */
export function novaNaive(ms: number, micros = 0): string {
  const d = new Date(ms);
  return `${d.toISOString().slice(0, 19)}.${pad(d.getUTCMilliseconds(), 3)}${pad(micros % 1000, 3)}`;
}
