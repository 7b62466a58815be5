/**
 * The OpenStack benchmark's baseline, run as its own process as the relay is: the Nova pages a day
 * needs (both server listings, every changed server's actions), fetched with node:http as the relay
 * fetches them and parsed, nothing else. Prints one JSON line: seconds, pages, action lists.
 * Input (environment): BASELINE_NOVA (the compute endpoint), BASELINE_TOKEN, BASELINE_DAY,
 * BASELINE_CONCURRENCY, BASELINE_PAGE_LIMIT.
 */
import { request } from 'node:http';

const nova = process.env.BASELINE_NOVA!;
const token = process.env.BASELINE_TOKEN!;
const day = process.env.BASELINE_DAY!;
const concurrency = Number(process.env.BASELINE_CONCURRENCY ?? 4);
const limit = Number(process.env.BASELINE_PAGE_LIMIT ?? 200);

function get(path: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${nova}${path}`,
      { headers: { 'X-Auth-Token': token, 'OpenStack-API-Version': 'compute 2.69', Accept: 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const started = performance.now();
let pages = 0;
const changed: string[] = [];
for (const since of [`&changes-since=${day}T00:00:00Z`, '']) {
  for (let marker = ''; ; ) {
    const page = await get(`/servers/detail?all_tenants=1&limit=${limit}${since}${marker ? `&marker=${marker}` : ''}`);
    pages++;
    const servers = page.servers as { id: string }[];
    if (since) changed.push(...servers.map((s) => s.id));
    const next = (page.servers_links as { rel: string; href: string }[] | undefined)?.find((l) => l.rel === 'next');
    if (!next || servers.length === 0) break;
    marker = new URL(next.href).searchParams.get('marker')!;
  }
}
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < changed.length) await get(`/servers/${changed[next++]}/os-instance-actions?limit=${limit}`);
  }),
);
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, pages, actions: changed.length }));
