import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_FOLDER } from '../../src/local/migrate.ts';

/** Every statement of every migration (or of those whose tag matches), in order, split as drizzle splits them. */
export function migrationStatements(only?: RegExp): string[] {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  return journal.entries
    .filter((e) => !only || only.test(e.tag))
    .flatMap((e) =>
      readFileSync(join(MIGRATIONS_FOLDER, `${e.tag}.sql`), 'utf8')
        .split('--> statement-breakpoint')
        .map((s) => s.trim())
        .filter(Boolean),
    );
}
