import { loadConfigOrExit } from '@kinora/config';
import { openDatabase } from '@kinora/db';
import { createKafkaEventBus } from '@kinora/events';
import { createLogger, serve } from '@kinora/observability';
import { TOPICS } from '@kinora/contracts';
import { buildApp } from './app.js';
import { ENGAGEMENT_TOPICS } from './events/engagement.mapping.js';

// The analytics service as its own process (cluster mode): Kafka when KAFKA_BROKERS is set.
const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel });
const db = await openDatabase(config, logger, 'kinora-analytics');
const bus = config.kafkaBrokers.length > 0 ? createKafkaEventBus({ brokers: config.kafkaBrokers, clientId: 'kinora-analytics', logger }) : undefined;
// The topics this service reads and writes, with their dead-letter twins (existing ones are left as they are).
await bus?.ensureTopics(
  [...ENGAGEMENT_TOPICS, TOPICS.videoLifecycle].flatMap((name) =>
    [name, `${name}.dlq`].map((n) => ({ name: n, partitions: config.kafkaTopicPartitions, replicationFactor: config.kafkaReplicationFactor })),
  ),
);
const app = await buildApp(config, { database: db.database, logger, ...(bus ? { bus } : {}) });
await serve(app, {
  port: config.port,
  host: config.host,
  shutdownGraceMs: config.shutdownGraceMs,
  onShutdown: async () => {
    await bus?.close();
    await db.close();
  },
});
