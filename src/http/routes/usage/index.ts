import type { App } from '../../app.ts';

/** `GET /usage`: totals per time bucket and group (issue 6). */
export function registerUsage(_app: App): void {}
