/**
 * A generated cloud for the stand-in (`npm run dev`'s demo cloud, the OpenStack benchmark): projects,
 * flavors (GPU ones among them), servers unchanged since before a period and servers changed in it,
 * each changed one with a consistent history of instance actions. Deterministic for a given seed.
 */
import { mulberry32 } from '../demo-accounting.ts';
import { type CloudAction, type CloudFlavor, type CloudModel, type CloudServer, novaNaive, novaStamp } from './model.ts';

export const DEMO_FLAVORS: CloudFlavor[] = [
  { id: '1', name: 'm1.small', vcpus: 1, ram: 2048, disk: 20, ephemeral: 0, extra_specs: {} },
  { id: '3', name: 'm1.medium', vcpus: 2, ram: 4096, disk: 40, ephemeral: 0, extra_specs: { 'hw:cpu_policy': 'shared' } },
  { id: '4', name: 'm1.large', vcpus: 4, ram: 8192, disk: 80, ephemeral: 20, extra_specs: {} },
  { id: 'g1', name: 'g1.a100', vcpus: 8, ram: 65536, disk: 100, ephemeral: 0, extra_specs: { 'pci_passthrough:alias': 'a100:1' } },
  { id: 'v1', name: 'v1.vgpu', vcpus: 4, ram: 16384, disk: 40, ephemeral: 0, extra_specs: { 'resources:VGPU': '1' } },
];

export interface DemoCloudOptions {
  /** Changes happen in [start, end) (ms); unchanged servers were last updated before start. */
  start: number;
  end: number;
  servers: number;
  /** Of those, how many change in the period (the rest are unchanged since before it). */
  changed: number;
  /** Instance actions of each changed server, `create` included. */
  actionsPerServer: number;
  projects: number;
  /** Projects that must be there, first (e.g. the demo GitOps allocation's). */
  knownProjects?: { id: string; name: string }[];
  credentials: CloudModel['credentials'];
  seed?: number;
}

const hex = (random: () => number, n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
const uuid = (random: () => number) => `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-a${hex(random, 3)}-${hex(random, 12)}`;

/** A history that only takes legal steps: what an action may follow, and where it leaves the server. */
const NEXT: Record<string, { action: string; status: string }[]> = {
  ACTIVE: [
    { action: 'stop', status: 'SHUTOFF' },
    { action: 'pause', status: 'PAUSED' },
    { action: 'suspend', status: 'SUSPENDED' },
    { action: 'shelve', status: 'SHELVED_OFFLOADED' },
    { action: 'reboot', status: 'ACTIVE' },
    { action: 'createImage', status: 'ACTIVE' },
  ],
  SHUTOFF: [
    { action: 'start', status: 'ACTIVE' },
    { action: 'shelve', status: 'SHELVED_OFFLOADED' },
  ],
  PAUSED: [{ action: 'unpause', status: 'ACTIVE' }],
  SUSPENDED: [{ action: 'resume', status: 'ACTIVE' }],
  SHELVED_OFFLOADED: [{ action: 'unshelve', status: 'ACTIVE' }],
};

export function generateDemoCloud(o: DemoCloudOptions): CloudModel {
  const random = mulberry32(o.seed ?? 11);
  const projects = [
    ...(o.knownProjects ?? []),
    ...Array.from({ length: Math.max(0, o.projects - (o.knownProjects?.length ?? 0)) }, (_, i) => ({
      id: hex(random, 32),
      name: `demo-project-${i + 1}`,
    })),
  ];
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const servers: CloudServer[] = [];
  const period = o.end - o.start;
  for (let i = 0; i < o.servers; i++) {
    const id = uuid(random);
    const flavor = random() < 0.08 ? pick(DEMO_FLAVORS.slice(3)) : pick(DEMO_FLAVORS.slice(0, 3));
    const base = { id, name: `vm-${i + 1}`, tenant_id: pick(projects).id, user_id: hex(random, 32), flavor };
    if (i >= o.changed) {
      // Unchanged since before the period: created 1 to 60 days earlier, last touched before it began.
      const created = o.start - (1 + random() * 59) * 86_400_000;
      const updated = created + random() * (o.start - created - 60_000);
      const roll = random();
      const status = roll < 0.75 ? 'ACTIVE' : roll < 0.87 ? 'SHUTOFF' : roll < 0.95 ? 'SHELVED_OFFLOADED' : 'ERROR';
      const launched = status === 'ERROR' && random() < 0.5 ? null : novaNaive(created + 30_000);
      servers.push({
        ...base,
        status,
        created: novaStamp(created),
        updated: novaStamp(updated),
        launched_at: launched,
        terminated_at: null,
        actions: [],
      });
      continue;
    }
    // Changed in the period: created before it or in its first half, then actions through it.
    const created = random() < 0.5 ? o.start - random() * 10 * 86_400_000 : o.start + random() * period * 0.5;
    let at = Math.max(created, o.start);
    let status = 'ACTIVE';
    const actions: CloudAction[] = [{ action: 'create', start_time: novaNaive(created, 123), request_id: `req-${uuid(random)}` }];
    const step = (Math.max(created, o.start) === created ? o.end - created : period) / (o.actionsPerServer + 1);
    for (let a = 1; a < o.actionsPerServer; a++) {
      at += step * (0.5 + random());
      if (at >= o.end - 1000) break;
      const deleteNow = a === o.actionsPerServer - 1 && random() < 0.2;
      const next = deleteNow ? { action: 'delete', status: 'DELETED' } : pick(NEXT[status]!);
      actions.push({ action: next.action, start_time: novaNaive(at, 456), request_id: `req-${uuid(random)}` });
      status = next.status;
    }
    const last = Date.parse(`${actions.at(-1)!.start_time.slice(0, 23)}Z`);
    servers.push({
      ...base,
      status,
      created: novaStamp(created),
      updated: novaStamp(last + 2000),
      launched_at: novaNaive(created + 30_000),
      terminated_at: status === 'DELETED' ? novaNaive(last + 1500) : null,
      actions,
    });
  }
  return { servers, projects, flavors: DEMO_FLAVORS, credentials: o.credentials };
}
