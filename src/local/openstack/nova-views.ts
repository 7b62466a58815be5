/**
 * Nova's JSON views for the stand-in, key for key after the Nova API reference samples
 * (test/fixtures/openstack/nova, a test compares the key sets): a server in `GET /servers/detail` at a
 * microversion, an instance action, a flavor, and `os-simple-tenant-usage` computed as Nova computes
 * it (the latest flavor over the server's life from launched_at, stops and shelves ignored).
 */
import type { CloudFlavor, CloudServer } from './model.ts';

export type Microversion = readonly [number, number];
export const atLeast = (v: Microversion, major: number, minor: number) => v[0] > major || (v[0] === major && v[1] >= minor);

const VM_STATES: Record<string, [string, number]> = {
  ACTIVE: ['active', 1],
  SHUTOFF: ['stopped', 4],
  PAUSED: ['paused', 3],
  SUSPENDED: ['suspended', 4],
  SHELVED: ['shelved', 4],
  SHELVED_OFFLOADED: ['shelved_offloaded', 0],
  ERROR: ['error', 0],
  BUILD: ['building', 0],
  DELETED: ['deleted', 0],
  SOFT_DELETED: ['soft-delete', 4],
};

/** One server of `GET /servers/detail` as Nova shows it at microversion `v`. */
export function serverView(s: CloudServer, v: Microversion, base: string): Record<string, unknown> {
  const links = [
    { href: `${base}/v2.1/servers/${s.id}`, rel: 'self' },
    { href: `${base}/servers/${s.id}`, rel: 'bookmark' },
  ];
  if (s.downCell) return { created: s.created, id: s.id, status: 'UNKNOWN', tenant_id: s.tenant_id, links };
  const [vmState, powerState] = VM_STATES[s.status] ?? ['active', 1];
  const view: Record<string, unknown> = {
    'OS-DCF:diskConfig': 'AUTO',
    'OS-EXT-AZ:availability_zone': 'nova',
    'OS-EXT-SRV-ATTR:host': 'compute',
    'OS-EXT-SRV-ATTR:hypervisor_hostname': 'fake-mini',
    'OS-EXT-SRV-ATTR:instance_name': `instance-${s.id.slice(0, 8)}`,
    'OS-EXT-STS:power_state': powerState,
    'OS-EXT-STS:task_state': null,
    'OS-EXT-STS:vm_state': vmState,
    'OS-SRV-USG:launched_at': s.launched_at,
    'OS-SRV-USG:terminated_at': s.terminated_at,
    accessIPv4: '',
    accessIPv6: '',
    addresses: {},
    config_drive: '',
    created: s.created,
    flavor: atLeast(v, 2, 47)
      ? {
          disk: s.flavor.disk,
          ephemeral: s.flavor.ephemeral,
          extra_specs: s.flavor.extra_specs,
          original_name: s.flavor.name,
          ram: s.flavor.ram,
          swap: 0,
          vcpus: s.flavor.vcpus,
        }
      : { id: s.flavor.id, links: [{ href: `${base}/flavors/${s.flavor.id}`, rel: 'bookmark' }] },
    hostId: '2091634baaccdc4c5a1d57069c833e402921df696b7f970791b12ec6',
    id: s.id,
    image: { id: '70a599e0-31e7-49b7-b260-868f441e862b', links: [{ href: `${base}/images/70a599e0-31e7-49b7-b260-868f441e862b`, rel: 'bookmark' }] },
    key_name: null,
    links,
    metadata: {},
    name: s.name,
    'os-extended-volumes:volumes_attached': [],
    progress: 0,
    security_groups: [{ name: 'default' }],
    status: s.status,
    tenant_id: s.tenant_id,
    updated: s.updated,
    user_id: s.user_id,
  };
  if (atLeast(v, 2, 47)) {
    Object.assign(view, {
      'OS-EXT-SRV-ATTR:hostname': s.name,
      'OS-EXT-SRV-ATTR:kernel_id': '',
      'OS-EXT-SRV-ATTR:launch_index': 0,
      'OS-EXT-SRV-ATTR:ramdisk_id': '',
      'OS-EXT-SRV-ATTR:reservation_id': `r-${s.id.slice(0, 8)}`,
      'OS-EXT-SRV-ATTR:root_device_name': '/dev/sda',
      'OS-EXT-SRV-ATTR:user_data': null,
      description: null,
      host_status: 'UP',
      locked: false,
      tags: [],
    });
  }
  if (atLeast(v, 2, 63)) view.trusted_image_certificates = null;
  if (atLeast(v, 2, 73)) view.locked_reason = null;
  return view;
}

/** A flavor of `GET /flavors/{id}` (extra specs embedded from 2.61). */
export function flavorView(f: CloudFlavor, v: Microversion, base: string): Record<string, unknown> {
  return {
    'OS-FLV-DISABLED:disabled': false,
    disk: f.disk,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'os-flavor-access:is_public': true,
    id: f.id,
    links: [
      { href: `${base}/v2.1/flavors/${f.id}`, rel: 'self' },
      { href: `${base}/flavors/${f.id}`, rel: 'bookmark' },
    ],
    name: f.name,
    ram: f.ram,
    swap: '',
    vcpus: f.vcpus,
    rxtx_factor: 1.0,
    ...(atLeast(v, 2, 55) ? { description: null } : {}),
    ...(atLeast(v, 2, 61) ? { extra_specs: f.extra_specs } : {}),
  };
}

const HOUR_MS = 3_600_000;
const naiveMs = (text: string | null) => (text ? Date.parse(`${text.slice(0, 23)}Z`) : NaN);

/**
 * `GET /os-simple-tenant-usage?detailed=1&start=&end=` (2.40 shape), the way Nova computes it: each
 * server from `launched_at` to `terminated_at` (or the period's end), at its CURRENT flavor, whatever
 * it did in between. For cross-checks only: this is exactly what the relay must not do.
 */
export function tenantUsageView(servers: readonly CloudServer[], start: number, end: number, naive: (ms: number) => string) {
  const byTenant = new Map<string, Record<string, unknown>[]>();
  for (const s of servers) {
    const launched = naiveMs(s.launched_at);
    if (!Number.isFinite(launched) || s.downCell) continue;
    const terminated = naiveMs(s.terminated_at);
    const from = Math.max(launched, start);
    const to = Math.min(Number.isFinite(terminated) ? terminated : end, end);
    if (!(to > from)) continue;
    const usage = {
      ended_at: s.terminated_at,
      flavor: s.flavor.name,
      hours: (to - from) / HOUR_MS,
      instance_id: s.id,
      local_gb: s.flavor.disk + s.flavor.ephemeral,
      memory_mb: s.flavor.ram,
      name: s.name,
      started_at: s.launched_at,
      state: (VM_STATES[s.status] ?? ['active'])[0],
      tenant_id: s.tenant_id,
      uptime: Math.round((end - launched) / 1000),
      vcpus: s.flavor.vcpus,
    };
    byTenant.set(s.tenant_id, [...(byTenant.get(s.tenant_id) ?? []), usage]);
  }
  return {
    tenant_usages: [...byTenant].map(([tenant_id, usages]) => {
      const sum = (f: (u: Record<string, number>) => number) => usages.reduce((t, u) => t + f(u as Record<string, number>), 0);
      return {
        start: naive(start),
        stop: naive(end),
        tenant_id,
        total_hours: sum((u) => u.hours!),
        total_local_gb_usage: sum((u) => u.hours! * u.local_gb!),
        total_memory_mb_usage: sum((u) => u.hours! * u.memory_mb!),
        total_vcpus_usage: sum((u) => u.hours! * u.vcpus!),
        server_usages: usages,
      };
    }),
  };
}
