/**
 * Generate PBS Pro accounting logs (one `YYYYMMDD` file per local day of the PBS server), for the
 * demo relay of `npm run dev` and for the collector benchmark. Deterministic for a given seed.
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DAY_MS } from '../lib/utc-day.ts';

export interface DemoLogOptions {
  dir: string;
  /** UTC days (YYYY-MM-DD) whose jobs end in them. */
  days: string[];
  jobsPerDay: number;
  /** The PBS server's zone: line prefixes and file names are local time. */
  timeZone: string;
  users?: string[];
  projects?: string[];
  seed?: number;
}

export interface DemoLogResult {
  jobs: number;
  files: string[];
  /** Totals over the generated jobs, to check conservation against. */
  totals: { cpuTime: number; walltime: number; coreSeconds: number };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same log. */
export function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const hms = (s: number) => `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The zone's offset is looked up once per minute of the day, not once per line. */
const offsets = new Map<string, number>();

function localParts(epochMs: number, timeZone: string) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const minute = Math.floor(epochMs / 60_000);
  const key = `${timeZone}|${minute}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    const p = Object.fromEntries(f.formatToParts(new Date(minute * 60_000)).map((x) => [x.type, x.value]));
    offset = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!) - minute * 60_000;
    offsets.set(key, offset);
  }
  const d = new Date(epochMs + offset);
  const [y, mo, da, h, mi, se] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  return { file: `${y}${pad(mo)}${pad(da)}`, stamp: `${pad(mo)}/${pad(da)}/${y} ${pad(h)}:${pad(mi)}:${pad(se)}` };
}

export async function writeDemoAccountingLog(opts: DemoLogOptions): Promise<DemoLogResult> {
  mkdirSync(opts.dir, { recursive: true });
  const rand = mulberry32(opts.seed ?? 42);
  const users = opts.users ?? ['alice', 'bob', 'carol'];
  const projects = opts.projects ?? ['astro', 'bio', '_pbs_project_default'];
  const streams = new Map<string, ReturnType<typeof createWriteStream>>();
  const totals = { cpuTime: 0, walltime: 0, coreSeconds: 0 };
  let id = 1000;
  for (const day of opts.days) {
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    for (let i = 0; i < opts.jobsPerDay; i++) {
      const end = dayStart + Math.floor(((i + rand()) / opts.jobsPerDay) * DAY_MS);
      const walltime = 60 + Math.floor(rand() * 7200);
      const ncpus = [1, 2, 4, 8, 16][Math.floor(rand() * 5)]!;
      const cput = Math.floor(walltime * ncpus * (0.5 + rand() * 0.5));
      const start = Math.floor(end / 1000) - walltime;
      const user = users[Math.floor(rand() * users.length)]!;
      const project = projects[Math.floor(rand() * projects.length)]!;
      const memKb = ncpus * 1024 * 1024;
      totals.cpuTime += cput;
      totals.walltime += walltime;
      totals.coreSeconds += ncpus * walltime;
      const { file, stamp } = localParts(end, opts.timeZone);
      const line =
        `${stamp};E;${id++}.demo-pbs;user=${user} group=users project=${project} jobname=sim_${i} queue=workq ` +
        `ctime=${start - 600} qtime=${start - 600} etime=${start - 600} start=${start} exec_host=node${i % 64}/0*${ncpus} ` +
        `exec_vnode=(node${i % 64}:ncpus=${ncpus}:mem=${memKb}kb) Resource_List.mem=${ncpus}gb Resource_List.ncpus=${ncpus} ` +
        `Resource_List.nodect=1 Resource_List.place=pack Resource_List.select=1:ncpus=${ncpus}:mem=${ncpus}gb ` +
        `Resource_List.walltime=${hms(walltime * 2)} session=${4000 + (i % 30000)} end=${Math.floor(end / 1000)} Exit_status=0 ` +
        `resources_used.cpupercent=${Math.round((100 * cput) / walltime)} resources_used.cput=${hms(cput)} ` +
        `resources_used.mem=${Math.floor(memKb * 0.7)}kb resources_used.ncpus=${ncpus} resources_used.vmem=${Math.floor(memKb * 0.8)}kb ` +
        `resources_used.walltime=${hms(walltime)} run_count=1\n`;
      let out = streams.get(file);
      if (!out) {
        out = createWriteStream(join(opts.dir, file), { flags: 'w' });
        streams.set(file, out);
      }
      if (!out.write(line)) await once(out, 'drain');
    }
  }
  await Promise.all([...streams.values()].map((s) => new Promise((resolve) => s.end(resolve))));
  return { jobs: id - 1000, files: [...streams.keys()].sort(), totals };
}
