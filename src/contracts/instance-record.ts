import { z } from 'zod';
import { INSTANCE_STATES } from './relay-api.ts';

/**
 * The relay's instance record (docs/architecture.md §5, docs/openstack.md): one OpenStack server that held
 * resources at some time in the window asked for, with its flavor and its state over that window.
 * Times are RFC 3339 UTC; sizes as Nova gives them (MiB of RAM, GiB of disk).
 */
export { INSTANCE_STATES, type InstanceState, RELAY_INSTANCES_PATH } from './relay-api.ts';

const utc = z.iso.datetime({ offset: false });

export const InstanceFlavorSchema = z.object({
  /** The flavor's name when the server was last resized or built (Nova's `original_name` from 2.47). */
  name: z.string().nullable(),
  vcpus: z.number().int().nonnegative(),
  ram_mb: z.number().int().nonnegative(),
  disk_gb: z.number().int().nonnegative(),
  ephemeral_gb: z.number().int().nonnegative(),
  /** GPUs the flavor asks for (PCI aliases, VGPU, CUSTOM_*GPU* resources; docs/openstack.md). */
  gpus: z.number().int().nonnegative(),
});
export type InstanceFlavor = z.infer<typeof InstanceFlavorSchema>;

export const InstanceIntervalSchema = z.object({
  start: utc,
  end: utc,
  /** Held in every state but SHELVED; running only in ACTIVE. */
  state: z.enum(INSTANCE_STATES),
});
export type InstanceInterval = z.infer<typeof InstanceIntervalSchema>;

export const InstanceRecordSchema = z.object({
  server_id: z.string().min(1),
  /** The Keystone project id, as Nova gives it (`tenant_id`). */
  project_id: z.string().min(1),
  /** The Keystone project's name; null when Keystone no longer knows the project. */
  project_name: z.string().nullable(),
  user_id: z.string().nullable(),
  name: z.string().nullable(),
  flavor: InstanceFlavorSchema,
  /** Clipped to the window, contiguous, in order, each longer than zero. */
  intervals: z.array(InstanceIntervalSchema).min(1),
  /** Measured CPU time in the window (Prometheus); null when not measured. */
  cpu_time_seconds: z.number().nonnegative().nullable(),
  origin: z.object({
    source: z.literal('openstack'),
    /** How the server was found: `changes-since` (changed in or after the window) or `live` (unchanged since before it). */
    listing: z.enum(['changes-since', 'live']),
    /** Instance actions read for it (0 for an unchanged server). */
    actions: z.number().int().nonnegative(),
  }),
});
export type InstanceRecord = z.infer<typeof InstanceRecordSchema>;

/** The last line of a complete /v1/instances stream. */
export const InstanceStreamSummarySchema = z.object({
  summary: z.object({
    /** Instance records written before this line. */
    count: z.number().int().nonnegative(),
    /** Servers Nova listed (both listings; a server in both is counted twice). */
    servers: z.number().int().nonnegative(),
    /** Pages of servers read. */
    pages: z.number().int().nonnegative(),
    /** Requests for instance actions (one per page). */
    action_pages: z.number().int().nonnegative(),
    /** Servers left out because they held nothing in the window (shelved, never launched, gone before it). */
    skipped: z.number().int().nonnegative(),
    /** Servers that could not be read (counted, never fatal; examples below). */
    malformed: z.number().int().nonnegative(),
    malformed_examples: z.array(z.string()).max(20),
    /** The compute API microversion the relay used. */
    nova_microversion: z.string(),
    /** Measured CPU time: `measured`, `off` (no RELAY_PROMETHEUS_URL) or `unavailable` (and why). */
    cpu_time: z.object({ status: z.enum(['measured', 'off', 'unavailable']), detail: z.string().optional() }),
  }),
});
export type InstanceStreamSummary = z.infer<typeof InstanceStreamSummarySchema>['summary'];
