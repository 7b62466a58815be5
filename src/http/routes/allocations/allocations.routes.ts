import { AllocationBalanceSchema, AllocationIdParamSchema, BalancesPageSchema, BalancesQuerySchema } from '../../../contracts/directory.ts';
import { requireReadKey } from '../../middleware/auth.ts';
import { type ApiRouteConfig, apiRoute } from '../../operations.ts';
import { READ_KEY_SCHEME } from '../../security.ts';

const reader = { tags: ['allocations'], access: READ_KEY_SCHEME } satisfies Partial<ApiRouteConfig>;

const USED = [
  '`used` is the sum of the metric over the usage events linked to the allocation (link `resolved` or `manual`) whose',
  '`time_window_start` is within its validity [valid_from, valid_to); usage without a link is never charged to any',
  'allocation (see `unmapped_events` and GET /links/unresolved). Only granted metrics are listed.',
].join(' ');

export const getBalanceRoute = apiRoute({
  ...reader,
  operationId: 'getAllocationBalance',
  method: 'get',
  path: '/allocations/{id}/balance',
  summary: 'What one allocation has used of each grant, and what remains',
  description: USED,
  middleware: [requireReadKey] as const,
  request: { params: AllocationIdParamSchema },
  responses: {
    200: { description: 'The balance', content: { 'application/json': { schema: AllocationBalanceSchema } } },
  },
  problems: [404, 422, 503],
});

export const listBalancesRoute = apiRoute({
  ...reader,
  operationId: 'listAllocationBalances',
  method: 'get',
  path: '/allocations',
  summary: 'The allocations (of a project, active or not) with their balances, by id (paged)',
  description: `${USED} Pass \`next_cursor\` back as \`cursor\` for the next page.`,
  middleware: [requireReadKey] as const,
  request: { query: BalancesQuerySchema },
  responses: {
    200: { description: 'One page', content: { 'application/json': { schema: BalancesPageSchema } } },
  },
  problems: [400, 422, 503],
});
