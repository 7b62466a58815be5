/**
 * The OpenStack test cloud's data (no Node imports: the workerd tests read it too), built on the
 * public shapes in test/fixtures/openstack: Keystone's projects from the openstack-exporter fixtures,
 * flavors from the Nova API reference (2.61), and servers that exercise every state rule of
 * docs/architecture.md §5 on one UTC day, each with the intervals the relay must report for it.
 */
import flavorsDetail from '../fixtures/openstack/nova/flavors_v2.61_flavors-detail-resp.json' with { type: 'json' };
import identityProjects from '../fixtures/openstack/openstack-exporter/identity_projects.json' with { type: 'json' };
import { type CloudFlavor, type CloudModel, type CloudServer, novaNaive, novaStamp } from '../../src/local/openstack/model.ts';

/** The day every rule is exercised on. */
export const RULES_DAY = '2026-03-02';
const D = Date.parse(`${RULES_DAY}T00:00:00Z`);
const H = 3_600_000;
/** `RULES_DAY` + hours (may be negative or past 24). */
export const at = (hours: number) => D + hours * H;
export const iso = (ms: number) => new Date(ms).toISOString();

/** Keystone's projects: the openstack-exporter fixture's (ids and names). */
export const KEYSTONE_PROJECTS = identityProjects.projects.map((p) => ({ id: p.id, name: p.name }));
const [DEMO, ALT_DEMO] = [KEYSTONE_PROJECTS.find((p) => p.name === 'demo')!, KEYSTONE_PROJECTS.find((p) => p.name === 'alt_demo')!];
export const PROJECTS = { demo: DEMO, altDemo: ALT_DEMO, gone: { id: 'feedfacefeedfacefeedfacefeedface', name: null } } as const;

/** Nova's reference flavors (2.61), and GPU flavors of each kind the relay counts. */
const REFERENCE_FLAVORS = (flavorsDetail.flavors as Record<string, unknown>[]).map(
  (f): CloudFlavor => ({
    id: String(f.id),
    name: String(f.name),
    vcpus: Number(f.vcpus),
    ram: Number(f.ram),
    disk: Number(f.disk),
    ephemeral: Number(f['OS-FLV-EXT-DATA:ephemeral']),
    extra_specs: f.extra_specs as Record<string, string>,
  }),
);
const flavor = (name: string) => REFERENCE_FLAVORS.find((f) => f.name === name)!;
export const FLAVORS = {
  tiny: flavor('m1.tiny'),
  small: flavor('m1.small'),
  medium: flavor('m1.medium'),
  large: flavor('m1.large'),
  /** Two A100s and one T4 through PCI passthrough: 3 GPUs, or 2 when only `a100` is a GPU alias. */
  pci: { id: 'g-pci', name: 'g1.pci', vcpus: 16, ram: 131072, disk: 200, ephemeral: 100, extra_specs: { 'pci_passthrough:alias': 'a100:2, t4:1' } },
  /** One vGPU and two MIG slices through placement (a granular group), and a resource that is no GPU. */
  placement: {
    id: 'g-placement',
    name: 'g1.placement',
    vcpus: 4,
    ram: 16384,
    disk: 40,
    ephemeral: 0,
    extra_specs: {
      'resources:VGPU': '1',
      'resources1:CUSTOM_NVIDIA_MIG_1G_GPU': '2',
      'resources:CUSTOM_FPGA_XILINX': '1',
      'hw:cpu_policy': 'dedicated',
    },
  },
} satisfies Record<string, CloudFlavor>;
export const ALL_FLAVORS: CloudFlavor[] = [...REFERENCE_FLAVORS, FLAVORS.pci, FLAVORS.placement];

export const CREDENTIALS = {
  applicationCredential: { id: '423f19a4ac1e4f48bbb4180756e6eb6c', secret: 'rEaqvJka48mpv-test-only' },
  password: {
    username: 'usage-relay',
    password: 'test-only-password',
    userDomainName: 'Default',
    projectName: 'service',
    projectDomainName: 'Default',
  },
} as const;

/** 32 hex digits derived from a name (four rounds of FNV-1a): stable across runs. */
function hexOf(name: string): string {
  let out = '';
  for (let round = 0; round < 4; round++) {
    let h = 0x811c9dc5;
    for (const ch of `${name}#${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}

/** A UUID derived from a name (stable across runs). */
export const serverId = (name: string) => {
  const h = hexOf(name);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

interface ServerSpec {
  project?: { id: string };
  flavor?: CloudFlavor;
  status: string;
  created: number;
  updated?: number;
  /** Default: 30 s after created. */
  launched?: number | null;
  terminated?: number | null;
  actions?: [string, number][];
  downCell?: boolean;
}

export function makeServer(name: string, s: ServerSpec): CloudServer {
  const actions = s.actions ?? [];
  const last = Math.max(s.created, ...actions.map(([, t]) => t));
  return {
    id: serverId(name),
    name,
    tenant_id: (s.project ?? PROJECTS.demo).id,
    user_id: 'fd786d56402c4d1691372e7dee0d00b5',
    status: s.status,
    created: novaStamp(s.created),
    updated: novaStamp(s.updated ?? last + 1000),
    launched_at: s.launched === null ? null : novaNaive(s.launched ?? s.created + 30_000, 891568),
    terminated_at: s.terminated ? novaNaive(s.terminated, 1234) : null,
    flavor: s.flavor ?? FLAVORS.small,
    actions: actions.map(([action, t], i) => ({ action, start_time: novaNaive(t, 793416), request_id: `req-${serverId(`${name}/${i}`)}` })),
    ...(s.downCell ? { downCell: true } : {}),
  };
}

export type Expected = { intervals: [number, number, string][]; listing: 'changes-since' | 'live' } | 'skipped';

/** A server of the rules cloud and the record the relay must make of it on RULES_DAY. */
export interface RuleCase {
  rule: string;
  server: CloudServer;
  expected: Expected;
}

const day = (start: number, end: number, state: string): [number, number, string] => [start, end, state];

/** Every state rule of docs/architecture.md §5 on RULES_DAY (hours relative to its midnight). */
export function ruleCases(): RuleCase[] {
  const cases: [string, ServerSpec, Expected][] = [
    [
      'unchanged ACTIVE: its status throughout',
      { status: 'ACTIVE', created: at(-240), updated: at(-200) },
      { listing: 'live', intervals: [day(0, 24, 'ACTIVE')] },
    ],
    [
      'unchanged SHUTOFF: held, not running',
      { status: 'SHUTOFF', created: at(-240), updated: at(-100), flavor: FLAVORS.medium },
      { listing: 'live', intervals: [day(0, 24, 'SHUTOFF')] },
    ],
    ['unchanged SHELVED_OFFLOADED: holds nothing', { status: 'SHELVED_OFFLOADED', created: at(-240), updated: at(-100) }, 'skipped'],
    ['unchanged ERROR that never launched: holds nothing', { status: 'ERROR', created: at(-48), updated: at(-47), launched: null }, 'skipped'],
    [
      'unchanged ERROR after launching: held, not running',
      { status: 'ERROR', created: at(-480), updated: at(-30) },
      { listing: 'live', intervals: [day(0, 24, 'ERROR')] },
    ],
    [
      'every state change of the day, from the actions',
      {
        status: 'SHELVED_OFFLOADED',
        created: at(-72),
        flavor: FLAVORS.large,
        actions: [
          ['create', at(-72)],
          ['stop', at(6)],
          ['start', at(10)],
          ['pause', at(12)],
          ['unpause', at(13)],
          ['suspend', at(15)],
          ['resume', at(16)],
          ['attach_volume', at(17)],
          ['shelve', at(20)],
          ['shelveOffload', at(20.1)],
        ],
      },
      {
        listing: 'changes-since',
        intervals: [
          day(0, 6, 'ACTIVE'),
          day(6, 10, 'SHUTOFF'),
          day(10, 12, 'ACTIVE'),
          day(12, 13, 'PAUSED'),
          day(13, 15, 'ACTIVE'),
          day(15, 16, 'SUSPENDED'),
          day(16, 20, 'ACTIVE'),
          day(20, 24, 'SHELVED'),
        ],
      },
    ],
    [
      'created in the day, rebuilt later: starts at create, never at launched_at',
      {
        status: 'ACTIVE',
        created: at(8),
        launched: at(9.5),
        actions: [
          ['create', at(8)],
          ['rebuild', at(9)],
        ],
      },
      { listing: 'changes-since', intervals: [day(8, 24, 'ACTIVE')] },
    ],
    [
      'deleted in the day: ends at the delete action',
      {
        status: 'DELETED',
        created: at(-72),
        terminated: at(11.01),
        actions: [
          ['create', at(-72)],
          ['delete', at(11)],
        ],
      },
      { listing: 'changes-since', intervals: [day(0, 11, 'ACTIVE')] },
    ],
    [
      'deleted without a delete action: ends at terminated_at',
      { status: 'DELETED', created: at(-72), terminated: at(7), actions: [['create', at(-72)]], updated: at(7) },
      { listing: 'changes-since', intervals: [day(0, 7, 'ACTIVE')] },
    ],
    [
      'never launched, created in the day: holds nothing',
      { status: 'ERROR', created: at(9), launched: null, actions: [['create', at(9)]] },
      'skipped',
    ],
    [
      'unshelved in the day: shelved before, ACTIVE after',
      {
        status: 'ACTIVE',
        created: at(-240),
        actions: [
          ['create', at(-240)],
          ['shelve', at(-48)],
          ['shelveOffload', at(-47)],
          ['unshelve', at(14)],
        ],
      },
      { listing: 'changes-since', intervals: [day(0, 14, 'SHELVED'), day(14, 24, 'ACTIVE')] },
    ],
    [
      'changed only after the day: its state at the start, clipped at the end',
      {
        status: 'SHUTOFF',
        created: at(-500),
        actions: [
          ['create', at(-500)],
          ['stop', at(27)],
        ],
      },
      { listing: 'changes-since', intervals: [day(0, 24, 'ACTIVE')] },
    ],
    [
      'soft-deleted and restored: powered off in between, never gone',
      {
        status: 'ACTIVE',
        created: at(-100),
        actions: [
          ['create', at(-100)],
          ['delete', at(10)],
          ['restore', at(12)],
        ],
      },
      { listing: 'changes-since', intervals: [day(0, 10, 'ACTIVE'), day(10, 12, 'SHUTOFF'), day(12, 24, 'ACTIVE')] },
    ],
    [
      'long history: reading stops once the state at the day start is known',
      {
        status: 'SHUTOFF',
        created: at(-900),
        actions: [
          ['create', at(-900)],
          ['stop', at(-800)],
          ['start', at(-700)],
          ['stop', at(-600)],
          ['start', at(-500)],
          ['createImage', at(-400)],
          ['stop', at(-300)],
          ['start', at(-200)],
          ['stop', at(5)],
        ],
      },
      { listing: 'changes-since', intervals: [day(0, 5, 'ACTIVE'), day(5, 24, 'SHUTOFF')] },
    ],
    [
      'PCI passthrough GPUs',
      { status: 'ACTIVE', created: at(-24), updated: at(-20), flavor: FLAVORS.pci, project: PROJECTS.altDemo },
      { listing: 'live', intervals: [day(0, 24, 'ACTIVE')] },
    ],
    [
      'vGPU and MIG GPUs through placement, stopped half the day',
      {
        status: 'SHUTOFF',
        created: at(-24),
        flavor: FLAVORS.placement,
        project: PROJECTS.altDemo,
        actions: [
          ['create', at(-24)],
          ['stop', at(12)],
        ],
      },
      { listing: 'changes-since', intervals: [day(0, 12, 'ACTIVE'), day(12, 24, 'SHUTOFF')] },
    ],
    [
      'in a project Keystone no longer has',
      { status: 'ACTIVE', created: at(-24), updated: at(-20), project: PROJECTS.gone, flavor: FLAVORS.tiny },
      { listing: 'live', intervals: [day(0, 24, 'ACTIVE')] },
    ],
  ];
  return cases.map(([rule, spec, expected]) => ({ rule, server: makeServer(rule, spec), expected }));
}

export function rulesCloud(extra: CloudServer[] = []): CloudModel {
  return {
    servers: [...ruleCases().map((c) => c.server), ...extra],
    projects: KEYSTONE_PROJECTS,
    flavors: ALL_FLAVORS,
    credentials: { ...CREDENTIALS },
  };
}

/** CPU seconds the collector tests' cloud measures for the server of the project Keystone no longer has (a quarter CPU all day). */
export const GONE_PROJECT_CPU_SECONDS = 1440 * 15;
