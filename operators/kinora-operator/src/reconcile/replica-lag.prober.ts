import pg from 'pg';
import { REPLICA_LAG_SQL } from './regionreplica.desired.js';

/** Measures a region's replica lag (seconds) given its connection URL. */
export interface LagProber {
  probe(url: string): Promise<number>;
}

/** One short connection per probe: `REPLICA_LAG_SQL` on the replica (3 s connect and statement timeouts). */
export class PostgresLagProber implements LagProber {
  async probe(url: string): Promise<number> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000, statement_timeout: 3000, application_name: 'kinora-operator' });
    await client.connect();
    try {
      const res = await client.query<{ lag: number; replica: boolean }>(REPLICA_LAG_SQL);
      // Tenths of a second: finer would change the status on every probe and wake the controller for nothing.
      return Math.round((res.rows[0]?.lag ?? 0) * 10) / 10;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
