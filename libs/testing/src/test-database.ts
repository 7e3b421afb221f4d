import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { waitUntil } from './internal/wait.js';
import { getTestEnv } from './test-env.js';

export interface TestDatabase {
  /** The database name: the prefix plus a unique suffix. */
  name: string;
  /** URL of the database on the primary. */
  url: string;
  /** URL of the same database on the replica (ready to accept connections). */
  replicaUrl: string;
  /** `DROP DATABASE … WITH (FORCE)` on the primary (ends open sessions). */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Default: `getTestEnv().databaseUrl` / `.databaseReplicaUrl`. */
  primaryUrl?: string;
  replicaUrl?: string;
  /** How long to wait for the database to appear on the replica (ms). Default 30 s. */
  timeoutMs?: number;
}

const NAME_PREFIX = /^[a-z][a-z0-9_]{0,39}$/;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a fresh database on the primary, named `<prefix>_<unique suffix>` (prefix: lower-case letters, digits,
 * `_`; default `test`), and waits until the replica accepts connections to it (it arrives through physical
 * replication). One per test file keeps files isolated while they share the servers.
 */
export async function createTestDatabase(prefix = 'test', options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  if (!NAME_PREFIX.test(prefix)) {
    throw new Error(`createTestDatabase: prefix ${JSON.stringify(prefix)} must match ${NAME_PREFIX} (a suffix is added)`);
  }
  const env = options.primaryUrl && options.replicaUrl ? undefined : getTestEnv();
  const primaryUrl = options.primaryUrl ?? env!.databaseUrl;
  const replicaBaseUrl = options.replicaUrl ?? env!.databaseReplicaUrl;
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withClient(primaryUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = withDatabase(primaryUrl, name);
  const replicaUrl = withDatabase(replicaBaseUrl, name);
  await waitUntil(`database ${name} on the replica`, () => withClient(replicaUrl, async (c) => (await c.query('SELECT 1')).rowCount === 1), {
    timeoutMs: options.timeoutMs ?? 30_000,
    intervalMs: 50,
  });
  return {
    name,
    url,
    replicaUrl,
    drop: async () => {
      await withClient(primaryUrl, async (c) => {
        // pg-pool's end() resolves once it has asked its connections to end, before their sessions are gone, and
        // its idle connections keep the pool's error listener meanwhile: terminating them now (FORCE) makes a pool
        // the test just ended emit 'error', an unhandled one in a test without a listener (seen in CI as
        // "terminating connection due to administrator command" after a passing file). Sessions still open after
        // a moment are ended by FORCE.
        await waitUntil(
          `sessions of ${name} to close`,
          async () => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name])).rows[0]!.n === 0,
          { timeoutMs: 2_000, intervalMs: 25 },
        ).catch(() => undefined);
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      });
    },
  };
}

export interface WaitForReplicaOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Waits until the replica has replayed the primary's current WAL position, so everything committed on the
 * primary before the call is visible on the replica. Returns the LSN waited for. Works with URLs of any
 * database of the two servers.
 */
export async function waitForReplica(primaryUrl: string, replicaUrl: string, options: WaitForReplicaOptions = {}): Promise<string> {
  const lsn = await withClient(primaryUrl, async (c) => {
    const { rows } = await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return rows[0]!.lsn;
  });
  const client = new pg.Client({ connectionString: replicaUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await waitUntil(
      `replica replay of ${lsn}`,
      async () => {
        const { rows } = await client.query<{ caught_up: boolean | null; in_recovery: boolean }>(
          'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught_up, pg_is_in_recovery() AS in_recovery',
          [lsn],
        );
        const row = rows[0];
        // Not a standby (e.g. TEST_DATABASE_REPLICA_URL set to the primary): nothing to wait for.
        return row?.in_recovery === false || row?.caught_up === true;
      },
      { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: options.intervalMs ?? 20 },
    );
  } finally {
    await client.end();
  }
  return lsn;
}
