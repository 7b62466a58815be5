/**
 * What `npm run deploy:setup` needs from wrangler: one environment of wrangler.toml, read by wrangler's
 * own reader (the environment resolution `wrangler deploy` applies: names, inheritance, validation), and
 * the CLI commands it runs, with the parsing of what they print.
 */
import { spawn } from 'node:child_process';
import { experimental_readRawConfig, unstable_readConfig } from 'wrangler';

export interface EnvironmentTarget {
  env: string;
  /** The Worker's name: wrangler appends the environment (`zeus-resource-usage-staging`). */
  worker: string;
  /** Every queue the environment names (producers, consumers, their dead-letter queues), each once. */
  queues: string[];
}

/** The environments wrangler.toml defines (`[env.NAME]`). */
export function environmentNames(configPath: string): string[] {
  return Object.keys(experimental_readRawConfig({ config: configPath }).rawConfig.env ?? {});
}

/** One environment as `wrangler deploy --env NAME` will see it. */
export function readEnvironment(configPath: string, env: string): EnvironmentTarget {
  const config = unstable_readConfig({ config: configPath, env });
  if (!config.name) throw new Error(`${configPath}: the Worker has no name`);
  const queues = new Set<string>();
  for (const producer of config.queues.producers ?? []) queues.add(producer.queue);
  for (const consumer of config.queues.consumers ?? []) {
    queues.add(consumer.queue);
    if (consumer.dead_letter_queue) queues.add(consumer.dead_letter_queue);
  }
  return { env, worker: config.name, queues: [...queues] };
}

export interface WranglerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run one wrangler command. `capture`: keep its output for parsing (plain, no colours) instead of
 * showing it; `input`: written to its stdin (secret values travel there, never in argv).
 */
export type RunWrangler = (args: string[], options?: { capture?: boolean; input?: string }) => Promise<WranglerResult>;

/** The `wrangler` on PATH (`npm run` puts the project's pinned one first). */
export function wranglerCli(command = 'wrangler'): RunWrangler {
  return (args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        stdio: ['pipe', options.capture ? 'pipe' : 'inherit', options.capture ? 'pipe' : 'inherit'],
        env: options.capture ? { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } : process.env,
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', (err) => reject(new Error(`cannot run ${command}: ${err.message}`)));
      child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      // A command that exits without reading its input (most do) must not fail the setup with EPIPE.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(options.input ?? '');
    });
}

/** The queue names of one page of `wrangler queues list` (a table with a `name` column). */
export function parseQueueTable(stdout: string): string[] {
  const rows = stdout
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) =>
      line
        .split('│')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  const column = rows[0]?.indexOf('name') ?? -1;
  if (rows.length > 0 && column === -1) throw new Error(`wrangler queues list printed a table without a name column:\n${stdout}`);
  return rows
    .slice(1)
    .map((row) => row[column]!)
    .filter(Boolean);
}

/** The secret names `wrangler secret list --format json` prints: `[{"name": …, "type": "secret_text"}]`. */
export function parseSecretList(stdout: string): string[] {
  const json = stdout.slice(stdout.indexOf('['), stdout.lastIndexOf(']') + 1);
  const list = JSON.parse(json || 'null') as unknown;
  if (!Array.isArray(list)) throw new Error(`wrangler secret list printed no JSON list:\n${stdout}`);
  return list.map((entry) => String((entry as { name: unknown }).name));
}

/** `wrangler secret list` on a Worker never deployed: no secrets yet, not an error for the setup. */
export function isWorkerNotFound(result: WranglerResult): boolean {
  return result.code !== 0 && /Worker "[^"]+"(?: \(env: [^)]+\))? not found/.test(result.stderr + result.stdout);
}
