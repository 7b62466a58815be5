import type { App } from '../../app.ts';
import { showPage, signIn, signOut } from './operator.handlers.ts';
import { PAGE_PATH, SIGN_IN_PATH, SIGN_OUT_PATH } from './page.ts';

/**
 * The operator page: server-rendered HTML behind the admin key (issue 6). Not API operations, so
 * not in /openapi.json: the page itself says what it needs.
 */
export function registerOperator(app: App): void {
  app.get(PAGE_PATH, showPage);
  app.post(SIGN_IN_PATH, signIn);
  // A reload of the address the form posted to.
  app.get(SIGN_IN_PATH, (c) => c.redirect(PAGE_PATH, 303));
  app.post(SIGN_OUT_PATH, signOut);
}
