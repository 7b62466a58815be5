/**
 * Every API operation is declared with `apiRoute()` (src/http/routes/<resource>/<r>.routes.ts): it is
 * `createRoute()` with the conventions of the published contract filled in, so that a route cannot
 * leave them out (docs/api.md, "The OpenAPI contract"):
 * - `operationId`, required: the method name client generators give the operation (`ingestUsageEvents`);
 *   camelCase, stable across releases (renaming one breaks integrators' generated code).
 * - `tags`, at least one, each one of TAGS (described in the document).
 * - `access`: `'public'` becomes `security: []` (no key, said explicitly), a scheme name becomes
 *   `security: [{ <scheme>: [] }]` and adds the 401 answer.
 * - `problems`: the other error statuses the route answers, each an `application/problem+json` response
 *   referencing the one shared `Problem` schema.
 */
import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import { type ERROR_CODES, problemResponses } from './problem.ts';
import type { SECURITY_SCHEMES } from './security.ts';

/** The document's tags, in the order the explorer lists them, with what each groups. */
export const TAGS = {
  service: 'What this service is and whether it and its database answer. No key.',
  ingest: 'Usage events in: collectors send them with a collector key.',
  reporting: 'Usage out: totals per time bucket and group, with a read key.',
  links: 'The links of usage events to users, projects and allocations; operator key.',
  operations: 'The daily collection from the sites: runs, status, backfill; operator key.',
  directory: "The allocation system's users, projects and allocations with their grants, synchronised by its ids; operator key.",
  allocations: 'What each allocation has used of its grants, and what remains, with a read key.',
  metrics: 'Prometheus metrics computed from the database at scrape time; read or operator key.',
  alerts: 'Alerts the crons evaluate (collection lag, dead letters, relays, unmapped usage, grants) and their silences; operator key.',
} as const;
export type Tag = keyof typeof TAGS;

type ErrorStatus = (typeof ERROR_CODES)[keyof typeof ERROR_CODES]['status'];

export interface ApiRouteConfig extends Omit<RouteConfig, 'operationId' | 'tags' | 'security'> {
  /** camelCase, unique, stable: generators name the client method after it. */
  operationId: string;
  tags: [Tag, ...Tag[]];
  /** `'public'` (no key) or the security scheme the route checks. */
  access: 'public' | keyof typeof SECURITY_SCHEMES;
  /** Error statuses besides 401 (added for every route with a key), as problem+json. */
  problems: readonly ErrorStatus[];
}

export function apiRoute<P extends string, C extends Omit<ApiRouteConfig, 'path'> & { path: P }>(config: C) {
  const { access, problems, responses, ...rest } = config;
  const statuses = [...new Set<ErrorStatus>(access === 'public' ? problems : [401, ...problems])].sort((a, b) => a - b);
  // `access` and `problems` are not OpenAPI fields: left out of the object (the generator copies every
  // other field into the operation), kept in its type only.
  const route = {
    ...rest,
    security: access === 'public' ? [] : [{ [access]: [] }],
    responses: { ...responses, ...problemResponses(...statuses) },
  } as unknown as C & { security: Record<string, string[]>[]; responses: C['responses'] & ReturnType<typeof problemResponses<ErrorStatus>> };
  return createRoute(route);
}
