import { createRouter } from '../../router.ts';
import { ingest } from './ingest.handlers.ts';
import { ingestRoute } from './ingest.routes.ts';

export const ingestRouter = createRouter().openapi(ingestRoute, ingest);
