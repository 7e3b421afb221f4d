import { runMigrations, type Database } from '@kinora/db';
import { OutboxRelay, OutboxWriter, outboxMigrationsDir, type EventBus, type EventBusLogger, type TransactionalPublisher } from '@kinora/events';

export interface ServiceSchemaOptions {
  database: Database;
  bus: EventBus;
  /** The schema the service owns (`comments`, `videos`, …): its tables and its `outbox`. */
  schema: string;
  /** The service's own migrations (run first, then the outbox's). */
  migrationsDir: string;
  logger?: EventBusLogger | undefined;
  /** Relay tuning (tests shorten the poll interval). */
  relay?: { pollIntervalMs?: number; batchSize?: number } | undefined;
  /** How events leave the business transaction; default: the schema's `outbox` table, drained to `bus` by the relay. */
  publisher?: TransactionalPublisher | undefined;
}

/**
 * What every service that owns a schema and publishes events starts with: its migrations and the outbox's run, a
 * relay that drains `<schema>.outbox` to the bus (started and closed by the module), and the publisher its
 * transactions write events with (woken after each commit, so events leave at once rather than at the next poll).
 */
export async function openServiceSchema(opts: ServiceSchemaOptions): Promise<{ relay: OutboxRelay; publisher: TransactionalPublisher }> {
  const log = opts.logger ? { logger: opts.logger } : {};
  await runMigrations(opts.database.primary, { schema: opts.schema, dir: opts.migrationsDir, ...log });
  await runMigrations(opts.database.primary, { schema: opts.schema, dir: outboxMigrationsDir, ...log });
  const relay = new OutboxRelay({ pool: opts.database.primary, schema: opts.schema, bus: opts.bus, ...log, ...(opts.relay ?? {}) });
  const publisher = opts.publisher ?? new OutboxWriter({ schema: opts.schema, onCommitted: () => relay.wake() });
  return { relay, publisher };
}
