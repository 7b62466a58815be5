/**
 * `@hono/zod-openapi` as the client package sees it (`npm run client:pack` aliases the import to this file):
 * zod with `.openapi()` added the way @hono/zod-openapi adds it (zod-to-openapi's extension), without Hono.
 * The contracts call `.openapi()` only to describe their schemas in /openapi.json; the package then carries
 * the same schemas and no server code.
 */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export { z };
