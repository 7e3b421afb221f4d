import type pg from 'pg';
import { TOPICS } from '@kinora/contracts';
import { runMigrations } from '@kinora/db';
import { createInProcessEventBus } from './adapters/in-process/postgres-log.bus.js';
import { createKafkaEventBus } from './adapters/kafka/kafka.bus.js';
import type { EventBus, EventBusLogger, TopicSpec } from './event-bus.js';
import { eventsMigrationsDir } from './migrations.js';

export interface OpenEventBusOptions {
  /** Kafka bootstrap brokers (`KAFKA_BROKERS`); empty selects the in-process bus. */
  kafkaBrokers: readonly string[];
  /** The database that keeps the in-process bus's log (schema `events`). */
  pool: pg.Pool;
  logger: EventBusLogger & { info(obj: object, msg?: string): void };
  /** Kafka client id of this process, e.g. `kinora-comment`. */
  clientId: string;
  /** Partitions and replication of the platform's topics created on Kafka at start. */
  topicPartitions: number;
  replicationFactor: number;
  /** Kafka consumer-group session timeout (`KAFKA_SESSION_TIMEOUT_MS`); default the adapter's 30 s. */
  sessionTimeoutMs?: number;
}

/** Every platform topic and its `.dlq` twin. */
export function platformTopics(partitions: number, replicationFactor: number): TopicSpec[] {
  return Object.values(TOPICS).flatMap((name) => [name, `${name}.dlq`].map((n) => ({ name: n, partitions, replicationFactor })));
}

/**
 * The bus a process uses, chosen by configuration: Kafka when brokers are given (the platform's topics are
 * created first), else the in-process bus over PostgreSQL (its schema migrated first). The caller closes it.
 */
export async function openEventBus(opts: OpenEventBusOptions): Promise<EventBus> {
  if (opts.kafkaBrokers.length > 0) {
    const session = opts.sessionTimeoutMs;
    const kafka = createKafkaEventBus({
      brokers: opts.kafkaBrokers,
      clientId: opts.clientId,
      logger: opts.logger,
      // A heartbeat every third of the session (at most every 3 s), so one late heartbeat never ends a session.
      ...(session === undefined ? {} : { consumer: { sessionTimeoutMs: session, heartbeatIntervalMs: Math.min(3_000, Math.floor(session / 3)) } }),
    });
    try {
      await kafka.ensureTopics(platformTopics(opts.topicPartitions, opts.replicationFactor));
    } catch (err) {
      await kafka.close().catch(() => {});
      throw err;
    }
    return kafka;
  }
  await runMigrations(opts.pool, { schema: 'events', dir: eventsMigrationsDir, logger: opts.logger });
  return createInProcessEventBus({ pool: opts.pool, logger: opts.logger });
}
