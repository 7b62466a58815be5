import { createRouter } from '../../router.ts';
import { getBalance, getBalances } from './allocations.handlers.ts';
import { getBalanceRoute, listBalancesRoute } from './allocations.routes.ts';

/** Allocation balances: what each allocation has used of its grants (docs/directory.md). */
export const allocationsRouter = createRouter().openapi(getBalanceRoute, getBalance).openapi(listBalancesRoute, getBalances);
