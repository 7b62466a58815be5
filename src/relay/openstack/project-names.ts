import { expectShape, requestJson, UpstreamError } from './http.ts';
import type { KeystoneSession } from './keystone.ts';

/**
 * Keystone project names by id, for one window: `GET /v3/projects` once (Keystone does not page it,
 * but may cut it at its `list_limit` and say `truncated`), then `GET /v3/projects/{id}` for an id the
 * list lacks. A project Keystone no longer has (404) has no name (null); any other failure fails the
 * window (a name that comes and goes would rewrite the events' context back and forth).
 */
export class ProjectNames {
  private names: Map<string, string | null> | undefined;

  constructor(
    private readonly session: KeystoneSession,
    private readonly options: { timeoutMs: number },
  ) {}

  private async identity(signal: AbortSignal): Promise<string> {
    const url = await this.session.endpoint('identity', signal);
    return /\/v3$/.test(url) ? url : `${url}/v3`;
  }

  private async get<T>(url: string, signal: AbortSignal, allow?: number[]) {
    try {
      return await requestJson<T>({
        service: 'keystone',
        url,
        headers: await this.session.headers(signal),
        signal,
        timeoutMs: this.options.timeoutMs,
        ...(allow ? { allow } : {}),
      });
    } catch (err) {
      if (err instanceof UpstreamError && err.status === 401) this.session.invalidate();
      throw err;
    }
  }

  async name(projectId: string, signal: AbortSignal): Promise<string | null> {
    if (!this.names) {
      const { body } = await this.get<{ projects?: { id?: string; name?: string }[] }>(`${await this.identity(signal)}/projects`, signal);
      expectShape(Array.isArray(body?.projects), 'keystone', 'GET /v3/projects: the answer has no projects list');
      this.names = new Map(body.projects.filter((p) => p.id).map((p) => [p.id!, typeof p.name === 'string' ? p.name : null]));
    }
    if (this.names.has(projectId)) return this.names.get(projectId)!;
    const { status, body } = await this.get<{ project?: { name?: string } }>(
      `${await this.identity(signal)}/projects/${encodeURIComponent(projectId)}`,
      signal,
      [404],
    );
    const name = status === 404 ? null : typeof body?.project?.name === 'string' ? body.project.name : null;
    this.names.set(projectId, name);
    return name;
  }
}
