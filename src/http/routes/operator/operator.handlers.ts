import type { Context, Handler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { listAlerts } from '../../../alerts/store.ts';
import { isSessionRevoked, revokeSession } from '../../../db/queries/operator-sessions.ts';
import { log } from '../../../lib/log.ts';
import { operatorOverview } from '../../../reporting/operator-overview.ts';
import type { AppEnv } from '../../app-env.ts';
import { bearerToken } from '../../middleware/auth.ts';
import { matchesAnyKey } from '../../middleware/constant-time.ts';
import { readLimited } from '../../middleware/json-body.ts';
import { ApiError } from '../../problem.ts';
import { overviewPage, PAGE_PATH, pageUrl, signInPage } from './page.ts';
import { issueSession, SESSION_COOKIE, SESSION_PATH, SESSION_TTL_SECONDS, verifiedSession } from './session.ts';
import { pageCsp } from './styles.ts';

type C = Context<AppEnv>;

/** The sign-in form is a few short fields. */
const MAX_FORM_BYTES = 4096;
/** As long as a cluster name may be (RELAYS). */
const MAX_CLUSTER_CHARS = 256;

const MESSAGES = {
  wrongKey: 'That is not an operator key (one of ADMIN_API_KEY). Nothing was stored; try again.',
  noKey: 'Enter an operator key.',
  session: 'Your session has ended (it expired, or the operator key was rotated). Sign in again.',
  crossSite: 'Refused: this form must be sent from this page, not from another site. Nothing was changed.',
  form: 'Send the form from this page (application/x-www-form-urlencoded, at most 4 KiB).',
} as const;

async function page(c: C, body: string | Promise<string>, status: 200 | 401 | 403 | 413 | 415, extra: Record<string, string> = {}) {
  return c.html(body, status, {
    'Content-Security-Policy': await pageCsp(),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // Not no-referrer: with it, browsers send `Origin: null` with the form's POST, which the CSRF check refuses.
    'Referrer-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    ...extra,
  });
}

const clusterOf = (value: string | null | undefined) => {
  const v = value?.trim();
  return v && v.length <= MAX_CLUSTER_CHARS ? v : null;
};

const isHttps = (c: C) => new URL(c.req.url).protocol === 'https:';

/**
 * How the request is signed in: `none` (nothing presented), `ok`, or refused: a bad bearer key or
 * a session cookie that is tampered with, expired, or signed with a key no longer configured.
 */
async function authenticate(c: C): Promise<'none' | 'ok' | 'bad-key' | 'bad-session'> {
  const keys = c.var.services.config.ADMIN_API_KEY;
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    return (await matchesAnyKey(bearerToken(authorization), keys)) ? 'ok' : 'bad-key';
  }
  const token = getCookie(c, SESSION_COOKIE);
  if (token === undefined) return 'none';
  const session = await verifiedSession(token, keys);
  if (!session || (await isSessionRevoked(c.var.services.db, session.nonce))) return 'bad-session';
  return 'ok';
}

/** CSRF: a state-changing POST must come from this origin (SameSite=Strict keeps the cookie off the others). */
function fromAnotherSite(c: C): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = c.req.header('origin');
  return origin !== undefined && origin !== new URL(c.req.url).origin;
}

/** The url-encoded form, or why it cannot be read. */
async function readForm(c: C): Promise<URLSearchParams | 413 | 415> {
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(c.req.header('content-type') ?? '')) return 415;
  // Streamed through the same limiter as every JSON body: a chunked body of any size stops at MAX_FORM_BYTES.
  try {
    return new URLSearchParams(new TextDecoder().decode(await readLimited(c.req.raw, MAX_FORM_BYTES)));
  } catch (err) {
    if (err instanceof ApiError && err.code === 'payload_too_large') return 413;
    throw err;
  }
}

/** GET /operator: the overview when signed in (session cookie or `Authorization: Bearer`), else the sign-in form. */
export const showPage: Handler<AppEnv> = async (c) => {
  const cluster = clusterOf(c.req.query('cluster'));
  const auth = await authenticate(c);
  if (auth === 'none') return page(c, signInPage({ cluster }), 200);
  if (auth === 'bad-key') return page(c, signInPage({ cluster, message: MESSAGES.wrongKey }), 401, { 'WWW-Authenticate': 'Bearer' });
  if (auth === 'bad-session') {
    deleteCookie(c, SESSION_COOKIE, { path: SESSION_PATH, secure: isHttps(c), httpOnly: true, sameSite: 'Strict' });
    return page(c, signInPage({ cluster, message: MESSAGES.session }), 401);
  }
  const { config, db } = c.var.services;
  const now = new Date();
  const [overview, alerts] = await Promise.all([
    operatorOverview(db, { relays: config.RELAYS, now, cluster: cluster ?? undefined }),
    listAlerts(db, { now, recent: true, limit: 200 }),
  ]);
  return page(c, overviewPage(overview, alerts), 200);
};

/** POST /operator/sign-in (form: key, cluster?): a session cookie and back to the page, or the form again with 401. */
export const signIn: Handler<AppEnv> = async (c) => {
  if (fromAnotherSite(c)) return page(c, signInPage({ cluster: null, message: MESSAGES.crossSite }), 403);
  const form = await readForm(c);
  if (typeof form === 'number') return page(c, signInPage({ cluster: null, message: MESSAGES.form }), form);
  const cluster = clusterOf(form.get('cluster'));
  const key = form.get('key')?.trim() ?? '';
  if (!key) return page(c, signInPage({ cluster, message: MESSAGES.noKey }), 401);
  if (!(await matchesAnyKey(key, c.var.services.config.ADMIN_API_KEY))) {
    log.warn('operator sign-in refused: not an operator key', { requestId: c.var.requestId });
    return page(c, signInPage({ cluster, message: MESSAGES.wrongKey }), 401);
  }
  setCookie(c, SESSION_COOKIE, await issueSession(key), {
    path: SESSION_PATH,
    httpOnly: true,
    sameSite: 'Strict',
    secure: isHttps(c),
    maxAge: SESSION_TTL_SECONDS,
  });
  log.info('operator signed in', { requestId: c.var.requestId });
  c.header('Cache-Control', 'no-store');
  return c.redirect(pageUrl(cluster), 303);
};

/** POST /operator/sign-out: the cookie is cleared, back to the sign-in form. */
export const signOut: Handler<AppEnv> = async (c) => {
  if (fromAnotherSite(c)) return page(c, signInPage({ cluster: null, message: MESSAGES.crossSite }), 403);
  // Revoked server-side: a copy of the cookie kept elsewhere no longer signs anyone in.
  const session = await verifiedSession(getCookie(c, SESSION_COOKIE), c.var.services.config.ADMIN_API_KEY);
  if (session) await revokeSession(c.var.services.db, session.nonce, session.expiresAt);
  deleteCookie(c, SESSION_COOKIE, { path: SESSION_PATH, secure: isHttps(c), httpOnly: true, sameSite: 'Strict' });
  c.header('Cache-Control', 'no-store');
  return c.redirect(PAGE_PATH, 303);
};
