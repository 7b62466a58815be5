/**
 * `npm run deploy:setup -- --env staging|production [--dry-run]`: queues, secrets, migrations and the
 * deployment of one wrangler environment (src/deploy/setup.ts; docs/deploy.md walks through it).
 */
import { parseArgs } from 'node:util';
import { migrateDatabase } from '../local/migrate.ts';
import { promptSecret } from './prompt.ts';
import { DEPLOYED_SECRETS, describeSteps, planSetup, runSetup, SetupError } from './setup.ts';
import { environmentNames, readEnvironment, wranglerCli } from './wrangler.ts';

const USAGE = `usage: npm run deploy:setup -- --env NAME [--dry-run] [--config wrangler.toml]

  --env NAME   the wrangler environment ([env.NAME] in wrangler.toml: staging, production)
  --dry-run    print each step with what it would create, put, apply and deploy; call nothing

Reads CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, DATABASE_URL (asked for when missing on a terminal)
and any secret of the Worker from the environment: ${DEPLOYED_SECRETS.map((s) => s.name).join(', ')}.
Safe to run again: it creates what is missing, keeps keys already set, and puts what is given.`;

const OPTIONS = {
  env: { type: 'string', short: 'e' },
  'dry-run': { type: 'boolean', default: false },
  config: { type: 'string', short: 'c', default: 'wrangler.toml' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    args = parseArgs({ options: OPTIONS }).values;
  } catch (err) {
    console.error(`deploy:setup: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const environments = environmentNames(args.config);
  if (!args.env || !environments.includes(args.env)) {
    const given = args.env ? `no [env.${args.env}] in ${args.config}` : '--env is required';
    console.error(`deploy:setup: ${given}; the environments are: ${environments.join(', ') || '(none)'}\n\n${USAGE}`);
    return 2;
  }
  const dryRun = args['dry-run'];
  const target = readEnvironment(args.config, args.env);

  const environ: Record<string, string | undefined> = { ...process.env };
  if (!dryRun && process.stdin.isTTY) {
    for (const { name } of DEPLOYED_SECRETS.filter((s) => s.kind === 'secret' && !environ[s.name]?.trim())) {
      environ[name] = await promptSecret(`${name} for ${args.env} (not echoed): `);
    }
  }
  const plan = planSetup(target, environ);

  console.log(`deploy:setup: environment ${target.env}, Worker ${target.worker}${dryRun ? ' (dry run: prints the steps, calls nothing)' : ''}`);
  if (dryRun) {
    for (const step of describeSteps(plan)) console.log(step);
    if (plan.problems.length > 0) {
      console.log(`A real run would stop before step 1:\n  ${plan.problems.join('\n  ')}`);
      return 1;
    }
    return 0;
  }
  try {
    await runSetup(plan, {
      wrangler: wranglerCli(),
      migrate: migrateDatabase,
      ...(process.env.DATABASE_HTTP_URL ? { sqlUrl: process.env.DATABASE_HTTP_URL } : {}),
      log: (line) => console.log(line),
    });
  } catch (err) {
    console.error(`deploy:setup: ${err instanceof SetupError ? err.message : (err as Error).stack}`);
    return 1;
  }
  console.log(`deploy:setup: ${target.worker} is deployed; next: docs/deploy.md, "6. The first collected day"`);
  return 0;
}

process.exitCode = await main();
