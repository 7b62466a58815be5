/**
 * Every OpenAPI security scheme of the API, named once: routes reference them by these names
 * (`security: [{ [ADMIN_KEY_SCHEME]: [] }]`) and openapi.ts registers them all.
 */
import { COLLECTOR_KEY_HEADER } from '../contracts/usage-event.ts';

export const COLLECTOR_KEY_SCHEME = 'collectorKey';
export const ADMIN_KEY_SCHEME = 'adminKey';
export const READ_KEY_SCHEME = 'readKey';

export const SECURITY_SCHEMES = {
  [COLLECTOR_KEY_SCHEME]: {
    type: 'apiKey',
    in: 'header',
    name: COLLECTOR_KEY_HEADER,
    description: 'A collector key: one of the comma-separated keys in the COLLECTOR_API_KEY secret.',
  },
  [ADMIN_KEY_SCHEME]: {
    type: 'http',
    scheme: 'bearer',
    description: 'An operator key: one of the comma-separated keys in the ADMIN_API_KEY secret.',
  },
  [READ_KEY_SCHEME]: {
    type: 'http',
    scheme: 'bearer',
    description: 'A read key (one of READ_API_KEY) or an operator key (one of ADMIN_API_KEY).',
  },
} as const;
