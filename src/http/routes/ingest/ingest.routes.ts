import { IngestRequestSchema, IngestResponseSchema, MAX_EVENTS_PER_REQUEST } from '../../../contracts/usage-event.ts';
import { requireCollectorKey } from '../../middleware/auth.ts';
import { jsonBody } from '../../middleware/json-body.ts';
import { apiRoute } from '../../operations.ts';
import { COLLECTOR_KEY_SCHEME } from '../../security.ts';

export const ingestRoute = apiRoute({
  operationId: 'ingestUsageEvents',
  method: 'post',
  path: '/collector/resource-usage',
  tags: ['ingest'],
  summary: 'Store usage events (idempotent)',
  description: [
    `Up to ${MAX_EVENTS_PER_REQUEST} events per request, in one transaction: the whole batch is stored or none of it.`,
    'An event whose natural key (source, window, cluster, project, jobname, identity set) is already stored',
    'never adds a row: a newer `collected_at` replaces its metrics, an older or equal one changes nothing.',
    'Re-sending a batch is therefore always safe. Stored events are handed to link mapping.',
  ].join(' '),
  access: COLLECTOR_KEY_SCHEME,
  middleware: [requireCollectorKey, jsonBody((c) => c.var.services.config.INGEST_MAX_BODY_BYTES)] as const,
  request: {
    body: { required: true, content: { 'application/json': { schema: IngestRequestSchema } } },
  },
  responses: {
    200: {
      description: 'Stored: counts of inserted, updated and unchanged events, and the id of each',
      content: { 'application/json': { schema: IngestResponseSchema } },
    },
  },
  problems: [400, 413, 415, 422, 503],
});
