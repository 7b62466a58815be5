import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../problem.ts';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/** Read at most `max` bytes of the body: over the limit is refused as soon as it is known, never buffered whole. */
async function readLimited(req: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError({ code: 'payload_too_large', detail: `the body exceeds ${max} bytes` });
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > max) throw tooLarge();
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    body.set(c, offset);
    offset += c.byteLength;
  }
  return body;
}

/**
 * For JSON routes: 415 unless the body is JSON, 413 over `maxBytes`, 400 if it does not parse.
 * The parsed value is handed to the route's validator through Hono's body cache.
 */
export function jsonBody(maxBytes: (c: { var: AppEnv['Variables'] }) => number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const type = c.req.header('content-type') ?? '';
    if (!JSON_TYPE.test(type)) {
      throw new ApiError({ code: 'unsupported_media_type', detail: `send Content-Type: application/json (got '${type || 'none'}')` });
    }
    const bytes = await readLimited(c.req.raw, maxBytes(c));
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
    } catch (err) {
      throw new ApiError({ code: 'malformed_json', detail: `the body is not valid JSON: ${(err as Error).message}` });
    }
    c.req.bodyCache.json = Promise.resolve(parsed);
    await next();
  });
}
