/**
 * `npm run deploy:setup -- --env NAME`: from a clone to a running Worker on Cloudflare + Neon, in four
 * steps, each safe to repeat (docs/deploy.md):
 *   1. queues      every queue and dead-letter queue the environment names, created when missing;
 *   2. secrets     every secret key of src/config.ts (CONFIG_DEPLOYMENT): given ones put, missing keys
 *                  generated (printed once), keys already on Cloudflare kept;
 *   3. migrations  drizzle/ applied through Neon's SQL-over-HTTP endpoint, by the same code the tests
 *                  run against the local gateway (src/local/migrate.ts);
 *   4. deploy      wrangler deploy --env NAME.
 * The plan is built from wrangler.toml and the environment before anything runs; a dry run prints it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { neonConfig } from '@neondatabase/serverless';
import { CONFIG_DEPLOYMENT, type ConfigKey, ConfigSchema } from '../config.ts';
import { MIGRATIONS_FOLDER } from '../local/migrate.ts';
import { redactUrl } from '../local/settings.ts';
import { type EnvironmentTarget, isWorkerNotFound, parseQueueTable, parseSecretList, type RunWrangler } from './wrangler.ts';

type SecretKind = 'key' | 'secret' | 'optional-secret';

/** Every key a deployed Worker holds as a secret, in ConfigSchema's order. */
export const DEPLOYED_SECRETS = (Object.entries(CONFIG_DEPLOYMENT) as [ConfigKey, string][])
  .filter((entry): entry is [ConfigKey, SecretKind] => ['key', 'secret', 'optional-secret'].includes(entry[1]))
  .map(([name, kind]) => ({ name, kind }));

/** Cloudflare credentials wrangler reads from the environment (an API token, not `wrangler login`). */
export const CLOUDFLARE_CREDENTIALS = ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ACCOUNT_ID'] as const;

export interface SecretPlan {
  name: ConfigKey;
  kind: SecretKind;
  /** Given in the environment (validated); never printed. */
  value?: string;
}

export interface SetupPlan {
  target: EnvironmentTarget;
  secrets: SecretPlan[];
  /** The database the migrations go to, and where the driver sends them. */
  database: { url: string | undefined; endpoint: string };
  migrations: string[];
  /** What a real run would stop on (missing or bad input), each naming the key. */
  problems: string[];
}

/** Build the plan from the environment's target and the process environment; calls nothing. */
export function planSetup(target: EnvironmentTarget, environ: Record<string, string | undefined>): SetupPlan {
  const problems: string[] = [];
  for (const name of CLOUDFLARE_CREDENTIALS) {
    if (!environ[name]) problems.push(`${name}: is required (a Cloudflare API token and its account id; docs/deploy.md)`);
  }
  const secrets = DEPLOYED_SECRETS.map(({ name, kind }): SecretPlan => {
    const value = environ[name]?.trim() || undefined;
    if (value === undefined) return { name, kind };
    const parsed = ConfigSchema.shape[name].safeParse(value);
    if (!parsed.success) problems.push(`${name}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return { name, kind, value };
  });
  for (const s of secrets) {
    if (s.kind === 'secret' && s.value === undefined) problems.push(`${s.name}: is required (in the environment, or typed at the prompt)`);
  }
  const databaseUrl = secrets.find((s) => s.name === 'DATABASE_URL')?.value;
  return {
    target,
    secrets,
    database: { url: databaseUrl, endpoint: sqlEndpoint(databaseUrl, environ.DATABASE_HTTP_URL) },
    migrations: migrationTags(),
    problems,
  };
}

/** Where the Neon driver sends the migrations: DATABASE_HTTP_URL when given, else Neon's endpoint for the host. */
function sqlEndpoint(databaseUrl: string | undefined, override: string | undefined): string {
  if (override) return override;
  if (!databaseUrl) return "Neon's SQL endpoint for the database's host";
  const { hostname, port } = new URL(databaseUrl);
  const endpoint = neonConfig.fetchEndpoint;
  return typeof endpoint === 'function' ? endpoint(hostname, port, {}) : endpoint;
}

function migrationTags(): string[] {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  return journal.entries.map((e) => e.tag);
}

/** The step headers, the same in a dry run and a real one. */
export function describeSteps(plan: SetupPlan): string[] {
  const env = plan.target.env;
  const secretLines = plan.secrets.map((s) => {
    const state =
      s.value !== undefined
        ? 'given: put'
        : s.kind === 'key'
          ? 'not given: kept when set, else generated (32 random bytes, hex) and printed once'
          : s.kind === 'secret'
            ? 'not given: required'
            : 'not given: left as it is';
    return `     ${s.name.padEnd(20)} ${state}`;
  });
  return [
    `1. queues: wrangler queues list --env ${env}, then wrangler queues create NAME --env ${env} for each of these that does not exist:\n     ${plan.target.queues.join(', ')}`,
    `2. secrets: wrangler secret list --env ${env}, then wrangler secret bulk --env ${env} (values on stdin, never in arguments):\n${secretLines.join('\n')}`,
    `3. migrations: ${plan.migrations.length} migrations of drizzle/ (${plan.migrations.join(', ')}) to ${plan.database.url ? redactUrl(plan.database.url) : 'DATABASE_URL'}\n     through ${plan.database.endpoint} (src/local/migrate.ts, the code the tests run against the local gateway)`,
    `4. deploy: wrangler deploy --env ${env}`,
  ];
}

export interface SetupDeps {
  wrangler: RunWrangler;
  /** Apply drizzle/ (src/local/migrate.ts's migrateDatabase). */
  migrate: (opts: { databaseUrl: string; sqlUrl?: string }) => Promise<void>;
  /** DATABASE_HTTP_URL of the environment (local gateway in tests; unset for Neon). */
  sqlUrl?: string;
  log: (line: string) => void;
}

export class SetupError extends Error {
  override name = 'SetupError';
}

/** Run the four steps of a plan without problems; stops at the first failure, naming the step. */
export async function runSetup(plan: SetupPlan, deps: SetupDeps): Promise<void> {
  if (plan.problems.length > 0) throw new SetupError(`cannot start:\n  ${plan.problems.join('\n  ')}`);
  const [queues, secrets, migrations, deploy] = describeSteps(plan);
  const env = plan.target.env;
  const wrangler = async (args: string[], options: Parameters<RunWrangler>[1] & { notFoundIsEmpty?: boolean } = {}) => {
    const result = await deps.wrangler([...args, '--env', env], options);
    if (result.code !== 0 && !(options.notFoundIsEmpty && isWorkerNotFound(result))) {
      throw new SetupError(
        `wrangler ${args.join(' ')} --env ${env} failed (exit ${result.code})${options.capture ? `:\n${result.stderr}${result.stdout}` : ''}`,
      );
    }
    return result;
  };

  deps.log(queues!);
  const existing = new Set<string>();
  for (let page = 1; page <= 100; page++) {
    const names = parseQueueTable((await wrangler(['queues', 'list', '--page', String(page)], { capture: true })).stdout);
    if (names.length === 0) break;
    for (const name of names) existing.add(name);
  }
  const missing = plan.target.queues.filter((q) => !existing.has(q));
  for (const queue of missing) {
    await wrangler(['queues', 'create', queue], { capture: true });
    deps.log(`   created ${queue}`);
  }
  deps.log(`   queues: ${missing.length} created, ${plan.target.queues.length - missing.length} already there`);

  deps.log(secrets!);
  // A Worker never deployed has no secrets yet (wrangler says it is not found).
  const listed = await wrangler(['secret', 'list', '--format', 'json'], { capture: true, notFoundIsEmpty: true });
  const present = new Set(isWorkerNotFound(listed) ? [] : parseSecretList(listed.stdout));
  const put: Record<string, string> = {};
  const generated: string[] = [];
  for (const s of plan.secrets) {
    if (s.value !== undefined) put[s.name] = s.value;
    else if (s.kind === 'key' && !present.has(s.name)) {
      put[s.name] = randomBytes(32).toString('hex');
      generated.push(s.name);
    }
  }
  if (Object.keys(put).length > 0) await wrangler(['secret', 'bulk'], { capture: true, input: JSON.stringify(put) });
  deps.log(
    `   secrets: ${Object.keys(put).length - generated.length} given, ${generated.length} generated, ` +
      `${plan.secrets.filter((s) => !(s.name in put) && present.has(s.name)).length} kept`,
  );
  if (generated.length > 0) {
    deps.log('   Generated keys, shown this once: keep them where your team keeps secrets (docs/deploy.md says who needs which).');
    for (const name of generated) deps.log(`     ${name}=${put[name]}`);
  }

  deps.log(migrations!);
  try {
    await deps.migrate({ databaseUrl: plan.database.url!, ...(deps.sqlUrl ? { sqlUrl: deps.sqlUrl } : {}) });
  } catch (err) {
    throw new SetupError(`migrations failed (nothing was deployed): ${(err as Error).message}`);
  }
  deps.log(`   migrations: the database is up to date`);

  deps.log(deploy!);
  await wrangler(['deploy']);
}
