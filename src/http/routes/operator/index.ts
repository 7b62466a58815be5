import type { App } from '../../app.ts';

/** The operator page (server-rendered HTML behind the admin key; issue 6). */
export function registerOperator(_app: App): void {}
