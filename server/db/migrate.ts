import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { migrationsDir } from '../paths.js';
import type { Sql } from './sql.js';

const migrationFilePattern = /^\d{5}_[a-z0-9_]+\.sql$/;
// Any fixed number: every process applying migrations takes the same lock.
const migrationLockKey = 74_210_001;

/** Applies the numbered .sql files not yet applied, in order, in one transaction under an advisory lock. */
export async function migrate(sql: Sql): Promise<string[]> {
  const files = readdirSync(migrationsDir).filter((f) => migrationFilePattern.test(f)).sort();
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${migrationLockKey})`;
    await tx`create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())`;
    const applied = new Set((await tx<{ name: string }[]>`select name from schema_migrations`).map((r) => r.name));
    const newlyApplied: string[] = [];
    for (const file of files) {
      if (applied.has(file)) continue;
      await tx.unsafe(readFileSync(path.join(migrationsDir, file), 'utf8'));
      await tx`insert into schema_migrations (name) values (${file})`;
      newlyApplied.push(file);
    }
    return newlyApplied;
  });
}
