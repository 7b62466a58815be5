import type { App } from '../../app.ts';
import { ingest } from './ingest.handlers.ts';
import { ingestRoute } from './ingest.routes.ts';

export function registerIngest(app: App): void {
  app.openapi(ingestRoute, ingest);
}
