import { createRouter } from '../../router.ts';
import { showPage, signIn, signOut } from './operator.handlers.ts';
import { PAGE_PATH, SIGN_IN_PATH, SIGN_OUT_PATH } from './page.ts';

/**
 * The operator page: server-rendered HTML behind the admin key (docs/api.md, "Operator page"). Not API operations,
 * so not in /openapi.json: the page itself says what it needs.
 */
export const operatorRouter = createRouter()
  .get(PAGE_PATH, showPage)
  .post(SIGN_IN_PATH, signIn)
  // A reload of the address the form posted to.
  .get(SIGN_IN_PATH, (c) => c.redirect(PAGE_PATH, 303))
  .post(SIGN_OUT_PATH, signOut);
