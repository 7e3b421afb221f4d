import { join } from 'node:path';
import type { Config } from '@kinora/config';
import { Database } from './database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';

interface Log {
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * The database of a process: the configured primary and replicas, or, without `DATABASE_URL`, an embedded
 * PostgreSQL whose data lives in `<dataDir>/postgres` across restarts. `close()` ends the pools, then stops the
 * embedded server.
 */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'databaseReplicaUrls' | 'databasePoolMax' | 'dataDir'>,
  log: Log,
  applicationName = 'kinora',
): Promise<{ database: Database; embedded: EmbeddedPostgres | undefined; close(): Promise<void> }> {
  let embedded: EmbeddedPostgres | undefined;
  let primaryUrl = config.databaseUrl;
  if (!primaryUrl) {
    const started = Date.now();
    embedded = await startEmbeddedPostgres({
      dataDir: join(config.dataDir, 'postgres'),
      log: (line) => log.debug({ component: 'embedded-postgres' }, line),
      notice: (message) => log.warn({ component: 'embedded-postgres' }, message),
    });
    primaryUrl = embedded.url;
    log.info({ port: embedded.port, dataDir: embedded.dataDir, ms: Date.now() - started }, 'embedded PostgreSQL started');
  }
  const database = new Database({
    primaryUrl,
    replicaUrls: config.databaseReplicaUrls,
    poolMax: config.databasePoolMax,
    applicationName,
    onError: (err) => log.error({ err }, 'idle database connection failed'),
    log,
  });
  return {
    database,
    embedded,
    async close() {
      await database.close();
      if (embedded) {
        await embedded.stop();
        log.info({}, 'embedded PostgreSQL stopped');
      }
    },
  };
}
