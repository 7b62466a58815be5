/**
 * Where alerts and /metrics read each allocation's share of its grants. The directory's balance module
 * (`allocationShares` in src/reporting/allocation-balances.ts) computes them; until it is wired here this
 * source reads nothing, so the allocation rule and the `zeus_allocation_used_share` family stay empty.
 */
import type { Database } from '../db/client.ts';

/** One granted metric of one allocation: the grant, what is charged to it, and used ÷ granted. */
export type AllocationShare = {
  allocation_id: string;
  project_id: string;
  metric: string;
  granted: number;
  used: number;
  used_share: number;
};

/** The shares of the active allocations' grants (the one place to point at `allocationShares(db, { activeOnly: true })`). */
export async function loadAllocationShares(_db: Database): Promise<AllocationShare[]> {
  return [];
}
