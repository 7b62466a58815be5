import type { RouteHandler } from '@hono/zod-openapi';
import { MAX_BACKFILL_DAYS } from '../../../contracts/collection.ts';
import { enqueueDays } from '../../../collector/plan.ts';
import { clusterStatus, recentRuns } from '../../../db/queries/collection.ts';
import { daysBetween, lastCompleteDay } from '../../../lib/utc-day.ts';
import type { AppEnv } from '../../app-env.ts';
import { ApiError } from '../../problem.ts';
import type { backfillRoute, runsRoute, statusRoute } from './collection.routes.ts';

export const runs: RouteHandler<typeof runsRoute, AppEnv> = async (c) => {
  const { limit, cluster } = c.req.valid('query');
  const rows = await recentRuns(c.var.services.db, { limit, ...(cluster ? { cluster } : {}) });
  return c.json({ runs: rows }, 200);
};

export const status: RouteHandler<typeof statusRoute, AppEnv> = async (c) => {
  const { config, db } = c.var.services;
  const rows = await clusterStatus(
    db,
    config.RELAYS.map((r) => r.cluster),
  );
  const url = new Map(config.RELAYS.map((r) => [r.cluster, r.url]));
  return c.json({ clusters: rows.map((r) => ({ ...r, relay: url.get(r.cluster) ?? '' })) }, 200);
};

export const backfill: RouteHandler<typeof backfillRoute, AppEnv> = async (c) => {
  const { cluster, from, to } = c.req.valid('json');
  const { config, db, collectQueue } = c.var.services;
  if (!config.RELAYS.some((r) => r.cluster === cluster)) {
    throw new ApiError({ code: 'not_found', detail: `no relay is configured for cluster '${cluster}' (RELAYS)` });
  }
  const last = lastCompleteDay(new Date(), config.COLLECT_DELAY_MINUTES);
  if (to > last) {
    throw new ApiError({
      code: 'validation_failed',
      detail: `to: ${to} has not ended yet (the last complete day is ${last})`,
      errors: [{ path: 'to', message: `must be ${last} or earlier` }],
    });
  }
  const days = daysBetween(from, to);
  if (days.length > MAX_BACKFILL_DAYS) {
    throw new ApiError({
      code: 'validation_failed',
      detail: `the range holds ${days.length} days; at most ${MAX_BACKFILL_DAYS} per backfill`,
      errors: [{ path: 'to', message: `at most ${MAX_BACKFILL_DAYS} days after from` }],
    });
  }
  await enqueueDays(db, collectQueue, cluster, days, 'backfill');
  return c.json({ cluster, days, enqueued: days.length }, 202);
};
