/**
 * `npm run directory:push -- FILE.json [--full]` — send an export of the allocation system (docs/directory.md) to
 * the directory API in batches, with the typed client (src/client). For cron on a host that has the export:
 *   ZEUS_URL=https://usage.example.org ZEUS_ADMIN_KEY=… npm run directory:push -- /srv/export/directory.json --full
 * The file: `{"projects": [...], "users": [...], "allocations": [...]}` (docs/directory-example.json).
 * Exit status 0 when every batch was stored, 1 otherwise (the refused record and field are printed).
 */
import { readFileSync } from 'node:fs';
import { type DirectoryExport, DirectorySyncError, pushDirectory } from '../client/index.ts';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const full = args.includes('--full');
const baseUrl = process.env.ZEUS_URL ?? 'http://127.0.0.1:8787';
const adminKey = process.env.ZEUS_ADMIN_KEY ?? process.env.ADMIN_API_KEY?.split(',')[0];

if (!file || !adminKey) {
  console.error('usage: ZEUS_URL=<api origin> ZEUS_ADMIN_KEY=<operator key> npm run directory:push -- FILE.json [--full]');
  process.exit(2);
}

let data: DirectoryExport;
try {
  data = JSON.parse(readFileSync(file, 'utf8')) as DirectoryExport;
} catch (err) {
  console.error(`directory:push: cannot read ${file}: ${(err as Error).message}`);
  process.exit(2);
}

const started = performance.now();
try {
  const totals = await pushDirectory({ baseUrl, adminKey }, data, { full });
  for (const [kind, t] of Object.entries(totals)) {
    if (t.requests === 0) continue;
    console.log(
      `${kind}: ${t.inserted} inserted, ${t.updated} updated, ${t.unchanged} unchanged${full ? `, ${t.deactivated} deactivated` : ''}; ` +
        `${t.remap_queued} events re-mapped${t.remap_days ? ` (and ${t.remap_days} whole days)` : ''} (${t.requests} requests)`,
    );
  }
  console.log(`directory:push: done in ${((performance.now() - started) / 1000).toFixed(1)} s (${baseUrl})`);
} catch (err) {
  console.error(`directory:push: ${err instanceof DirectorySyncError ? err.message : String(err)}`);
  process.exit(1);
}
