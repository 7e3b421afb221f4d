import { join } from 'node:path';
import { DATABASE_ENTITIES, type Config, type DatabaseEntity } from '@kinora/config';
import { Database } from './database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';

export { DATABASE_ENTITIES, type DatabaseEntity };

interface Log {
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The entity database a service owns: users (user), analytics (analytics), videos (the others). */
export function databaseEntityOf(service: string): DatabaseEntity {
  if (service === 'user') return 'users';
  if (service === 'analytics') return 'analytics';
  return 'videos';
}

type DatabaseConfig = Pick<
  Config,
  | 'databaseUrl'
  | 'databaseReplicaUrls'
  | 'databasePoolMax'
  | 'dataDir'
  | 'databases'
  | 'databaseStatementTimeoutMs'
  | 'databaseIdleInTransactionTimeoutMs'
  | 'databaseHealthIntervalMs'
>;

/**
 * The database of a process: the configured primary and replicas of `entity` (`<ENTITY>_DATABASE_URL`, default
 * `DATABASE_URL`), or of `DATABASE_URL` when no entity is given (the all-in-one process); without a URL, an embedded
 * PostgreSQL whose data lives in `<dataDir>/postgres` across restarts. `close()` ends the pools, then stops the
 * embedded server.
 */
export async function openDatabase(
  config: DatabaseConfig,
  log: Log,
  applicationName = 'kinora',
  entity?: DatabaseEntity,
): Promise<{ database: Database; embedded: EmbeddedPostgres | undefined; close(): Promise<void> }> {
  const conn = entity ? config.databases[entity] : { url: config.databaseUrl, replicaUrls: config.databaseReplicaUrls };
  let embedded: EmbeddedPostgres | undefined;
  let primaryUrl = conn.url;
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
    replicaUrls: conn.replicaUrls,
    name: entity ?? 'main',
    poolMax: config.databasePoolMax,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    idleInTransactionTimeoutMs: config.databaseIdleInTransactionTimeoutMs,
    healthIntervalMs: config.databaseHealthIntervalMs,
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
