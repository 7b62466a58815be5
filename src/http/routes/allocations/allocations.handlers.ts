import type { RouteHandler } from '@hono/zod-openapi';
import { BadDirectoryCursorError } from '../../../db/queries/directory.ts';
import { allocationBalance, listBalances } from '../../../reporting/allocation-balances.ts';
import type { AppEnv } from '../../app-env.ts';
import { ApiError } from '../../problem.ts';
import type { getBalanceRoute, listBalancesRoute } from './allocations.routes.ts';

export const getBalance: RouteHandler<typeof getBalanceRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid('param');
  const balance = await allocationBalance(c.var.services.db, id);
  if (!balance) throw new ApiError({ code: 'not_found', detail: `no allocation has id ${JSON.stringify(id)} (PUT /directory/allocations)` });
  return c.json(balance, 200);
};

export const getBalances: RouteHandler<typeof listBalancesRoute, AppEnv> = async (c) => {
  try {
    return c.json(await listBalances(c.var.services.db, c.req.valid('query')), 200);
  } catch (err) {
    if (err instanceof BadDirectoryCursorError) throw new ApiError({ code: 'bad_request', detail: `cursor: ${err.message}` });
    throw err;
  }
};
