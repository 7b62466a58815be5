import { createMiddleware } from 'hono/factory';
import { BAD_TEXT_MESSAGE, findBadText } from '../../contracts/safe-text.ts';
import { formatPath } from '../../contracts/problem.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../problem.ts';

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/**
 * A NUL or a lone surrogate reaches a parsed string only through a `\u` escape: the body is decoded as strict UTF-8,
 * which holds no surrogate, and JSON.parse refuses a raw control character in a string. A body with no `\u0000` and
 * no escape of a surrogate (`\uD800`–`\uDFFF`, paired or not) is not walked: the walk took a few milliseconds of
 * every large body (some 5 for 5000 allocations), and one scan of the text for a backslash-u is a fraction of that.
 */
const BAD_TEXT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/** Deepest nesting of arrays and objects a JSON body may have (every contract needs far fewer). */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * Follows the nesting depth of JSON text chunk by chunk (brackets outside strings), so a body nested
 * deeper than the cap is refused while it streams in, before any parser sees it. Multi-byte UTF-8
 * sequences never hold these ASCII bytes, so the bytes can be scanned as they come.
 */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly max = MAX_JSON_DEPTH) {}

  /** False as soon as the depth passes the cap. */
  feed(chunk: Uint8Array): boolean {
    // An indexed loop over locals, the bytes compared directly: every JSON body passes here byte by byte (a
    // for…of over the chunk with two Sets took some 10 ms a megabyte).
    let { depth, inString, escaped } = this;
    let ok = true;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
      } else if (byte === QUOTE) inString = true;
      else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
        if (++depth > this.max) {
          ok = false;
          break;
        }
      } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--;
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    return ok;
  }
}

/**
 * Read at most `max` bytes of the body: over the limit is refused as soon as it is known, never buffered
 * whole. `onChunk` sees each chunk as it arrives and may refuse the body by throwing.
 */
export async function readLimited(req: Request, max: number, onChunk?: (chunk: Uint8Array) => void): Promise<Uint8Array> {
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
    try {
      if (size > max) throw tooLarge();
      onChunk?.(value);
    } catch (err) {
      await reader.cancel().catch(() => undefined);
      throw err;
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
 * For JSON routes: 415 unless the body is JSON, 413 over `maxBytes`, 400 if it does not parse or nests
 * deeper than MAX_JSON_DEPTH, 422 naming the field if a string (or key) holds a NUL or a lone surrogate.
 * The parsed value is handed to the route's validator through Hono's body cache.
 */
export function jsonBody(maxBytes: (c: { var: AppEnv['Variables'] }) => number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const type = c.req.header('content-type') ?? '';
    if (!JSON_TYPE.test(type)) {
      throw new ApiError({ code: 'unsupported_media_type', detail: `send Content-Type: application/json (got '${type || 'none'}')` });
    }
    const depth = new JsonDepthScanner();
    const bytes = await readLimited(c.req.raw, maxBytes(c), (chunk) => {
      if (!depth.feed(chunk)) {
        throw new ApiError({ code: 'malformed_json', detail: `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels` });
      }
    });
    let text: string;
    let parsed: unknown;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ApiError({ code: 'malformed_json', detail: `the body is not valid JSON: ${(err as Error).message}` });
    }
    const bad = BAD_TEXT_ESCAPE.test(text) ? findBadText(parsed) : undefined;
    if (bad) {
      const path = formatPath(bad) || 'body';
      throw new ApiError({ code: 'validation_failed', detail: `1 invalid field: ${path}`, errors: [{ path, message: BAD_TEXT_MESSAGE }] });
    }
    c.req.bodyCache.json = Promise.resolve(parsed);
    await next();
  });
}
