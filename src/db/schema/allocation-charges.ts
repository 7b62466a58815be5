import { date, doublePrecision, index, integer, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';

/**
 * Per (allocation, UTC day): the sum of each grant metric over the usage events linked to the allocation
 * (`resolved` or `manual`) whose time_window_start falls on that day. Derived data, kept by the statement
 * triggers on resource_usage_event_links (migration 0004: every written, changed or deleted link recomputes
 * its (allocation, day) from the links and the events) and by mapping when a stored event's metrics change
 * (src/mapping/map-events.ts). Balances read it (src/reporting/allocation-balances.ts) so that an allocation
 * with a million linked events is summed over its days, not its events. The triggers sit on the link table,
 * a plain table: a TimescaleDB hypertable (resource_usage_events) cannot have transition-table triggers.
 */
export const allocationCharges = pgTable(
  'allocation_charges',
  {
    allocationId: uuid('allocation_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    events: integer('events').notNull(),
    cpuCoreSeconds: doublePrecision('cpu_core_seconds').notNull(),
    gpuTimeSeconds: doublePrecision('gpu_time_seconds').notNull(),
    storageBytesAllocated: doublePrecision('storage_bytes_allocated').notNull(),
    walltimeAllocated: doublePrecision('walltime_allocated').notNull(),
  },
  (t) => [primaryKey({ name: 'allocation_charges_pkey', columns: [t.allocationId, t.day] }), index('allocation_charges_day').on(t.day)],
);
export type AllocationCharge = typeof allocationCharges.$inferSelect;
