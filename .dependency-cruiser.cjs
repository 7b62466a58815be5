/**
 * The layers of src/, lowest first (README, "Layout of src/"; docs/architecture.md, "Layers of src/"), checked by
 * `npm run lint:deps` (part of `npm run lint`, run in .ci/run). An import may only go down a floor or
 * stay inside its own folder; type-only imports count too.
 *
 *   0  lib/                                       pure helpers: the logger, UTC days
 *   1  contracts/ · config.ts                     wire schemas, enums, reason codes; the env schema
 *   2  db/ · client/ (leaf) · relay/ (Node)       tables and SQL; the integrators' SDK; the on-site program
 *   3  ingest/ · mapping/ · reporting/ · collector/ (collector → ingest) · alerts/ (alerts → reporting)
 *   4  services.ts                                config + database + queues, once per isolate
 *   5  http/ · queues.ts                          the HTTP app; the queue dispatcher
 *   6  index.ts · deno/ · local/ · deploy/        entries, local tooling and deploy:setup
 */
const notTo = (name, comment, from, to) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: to },
});
const onlyTo = (name, comment, from, allowed) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: '^src/', pathNot: allowed },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import circles.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    onlyTo('lib-is-the-ground', 'lib/ imports nothing of src/.', '^src/lib/', '^src/lib/'),
    onlyTo('contracts-stand-on-lib', 'contracts/ imports only lib/ (never db/).', '^src/contracts/', '^src/(contracts|lib)/'),
    notTo(
      'contracts-no-tables',
      'Table-bound schemas are derived in db/, not in contracts/.',
      '^src/contracts/',
      '^node_modules/(drizzle-zod|drizzle-orm)/',
    ),
    onlyTo('config-stands-on-contracts', 'config.ts imports only contracts/ and lib/.', '^src/config\\.ts$', '^src/(contracts|lib)/'),
    onlyTo('db-below-domains', 'db/ imports only contracts/, config.ts and lib/.', '^src/db/', '^src/(db|contracts|lib)/|^src/config\\.ts$'),
    onlyTo('client-is-a-leaf', "The integrators' SDK imports only contracts/.", '^src/client/', '^src/(client|contracts)/'),
    notTo(
      'nothing-imports-client',
      'client/ is for integrators: no Worker code imports it (local/ tooling may: npm run directory:push sends with it).',
      '^src/(?!client/|local/)',
      '^src/client/',
    ),
    onlyTo('relay-stands-alone', 'The relay (Node, on site) imports only contracts/.', '^src/relay/', '^src/(relay|contracts)/'),
    onlyTo(
      'transform-is-pure',
      'collector/transform/ is pure: contracts/ and lib/ only.',
      '^src/collector/transform/',
      '^src/(collector/transform|contracts|lib)/',
    ),
    onlyTo(
      'ingest-below-collector',
      'ingest/ imports only the floors below it.',
      '^src/ingest/',
      '^src/(ingest|db|contracts|lib)/|^src/config\\.ts$',
    ),
    onlyTo('mapping-own-floor', 'mapping/ imports only the floors below it.', '^src/mapping/', '^src/(mapping|db|contracts|lib)/|^src/config\\.ts$'),
    onlyTo(
      'reporting-own-floor',
      'reporting/ imports only the floors below it.',
      '^src/reporting/',
      '^src/(reporting|db|contracts|lib)/|^src/config\\.ts$',
    ),
    onlyTo(
      'alerts-read-reporting',
      'alerts/ imports reporting/ (allocation shares) and the floors below.',
      '^src/alerts/',
      '^src/(alerts|reporting|db|contracts|lib)/|^src/config\\.ts$',
    ),
    onlyTo(
      'collector-writes-through-ingest',
      'collector/ imports ingest/ and the floors below.',
      '^src/collector/',
      '^src/(collector|ingest|db|contracts|lib)/|^src/config\\.ts$',
    ),
    onlyTo(
      'services-below-http',
      'services.ts composes config, db and queue types only.',
      '^src/services\\.ts$',
      '^src/(db|contracts|lib)/|^src/config\\.ts$',
    ),
    onlyTo(
      'http-above-domains',
      'http/ calls the domain verbs; never the queue dispatcher, an entry, local tooling or the relay.',
      '^src/http/',
      '^src/(http|ingest|mapping|reporting|collector|alerts|db|contracts|lib)/|^src/(config|services)\\.ts$',
    ),
    onlyTo(
      'queues-dispatch',
      'queues.ts dispatches to the consumers.',
      '^src/queues\\.ts$',
      '^src/(collector|mapping|alerts|lib)/|^src/services\\.ts$',
    ),
    notTo(
      'entries-are-tops',
      'Nothing imports an entry (index.ts, deno/), local tooling or deploy:setup, except inside them.',
      '^src/(?!local/|deno/|deploy/)',
      '^src/(index\\.ts$|deno/|local/|deploy/)',
    ),
    notTo('no-tests-in-src', 'src/ never imports test/.', '^src/', '^test/'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
    exclude: { path: '\\.d\\.ts$' },
  },
};
