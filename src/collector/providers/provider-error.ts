/**
 * What went wrong reaching an upstream, typed so a run can record it and retry only what may pass.
 * `upstream`: the relay answered, but what it reads from (a cloud's API, a database) failed mid-window.
 */
export type ProviderErrorKind = 'http' | 'parse' | 'network' | 'timeout' | 'upstream';

export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    readonly source: string,
    readonly kind: ProviderErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(`${source}: ${kind}${status ? ` ${status}` : ''}: ${message}`);
  }
}
