import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';

export interface MigrationLogger {
  info(obj: object, msg?: string): void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Applies `dir/*.sql` in name order to `schema`, each file once and in its own transaction, recorded in
 * `<schema>.schema_migrations`. Each transaction first takes a transaction-scoped advisory lock per schema
 * (`pg_advisory_xact_lock`, released by its COMMIT/ROLLBACK: no session state, so it works behind PgBouncer in
 * transaction mode), then checks whether the file is still to do: concurrent starts of the same service apply each
 * file once, the others wait and skip it. Returns the files applied by this call.
 */
export async function runMigrations(
  pool: pg.Pool,
  opts: { schema: string; dir: string; logger?: MigrationLogger },
): Promise<string[]> {
  const { schema, dir } = opts;
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const lockKey = `kinora.migrate.${schema}`;
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
    for (const file of files) {
      const sql = await readFile(join(dir, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey]);
        const done = await client.query(`SELECT 1 FROM ${schema}.schema_migrations WHERE name = $1`, [file]);
        if (done.rowCount) {
          await client.query('COMMIT');
          continue;
        }
        await client.query(`SET LOCAL search_path TO ${schema}, public`);
        await client.query(sql);
        await client.query(`INSERT INTO ${schema}.schema_migrations (name) VALUES ($1)`, [file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${schema}/${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
      opts.logger?.info({ schema, migration: file }, 'migration applied');
    }
  } finally {
    client.release();
  }
  return applied;
}
