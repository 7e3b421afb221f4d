import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';

export interface MigrationLogger {
  info(obj: object, msg?: string): void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Applies `dir/*.sql` in name order to `schema`, each file once and in its own transaction, recorded in
 * `<schema>.schema_migrations`. A session advisory lock per schema serialises concurrent starts of the same
 * service: the second waits, then finds nothing left to do. Returns the files applied by this call.
 */
export async function runMigrations(
  pool: pg.Pool,
  opts: { schema: string; dir: string; logger?: MigrationLogger },
): Promise<string[]> {
  const { schema, dir } = opts;
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`kinora.migrate.${schema}`]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set(
        (await client.query<{ name: string }>(`SELECT name FROM ${schema}.schema_migrations`)).rows.map((r) => r.name),
      );
      for (const file of files) {
        if (done.has(file)) continue;
        const sql = await readFile(join(dir, file), 'utf8');
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL search_path TO ${schema}, public`);
          await client.query(sql);
          await client.query(`INSERT INTO ${schema}.schema_migrations (name) VALUES ($1)`, [file]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${schema}/${file} failed: ${(err as Error).message}`);
        }
        applied.push(file);
        opts.logger?.info({ schema, migration: file }, 'migration applied');
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`kinora.migrate.${schema}`]);
    }
  } finally {
    client.release();
  }
  return applied;
}
