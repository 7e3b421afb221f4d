import { loadConfigOrExit } from '@kinora/config';
import { openDatabase } from '@kinora/db';
import { openEventBus } from '@kinora/events';
import { createLogger, serve, startTracing } from '@kinora/observability';
import { buildApp } from './app.js';
import { isRealtimeWorker, joinPrimary, runPrimary } from './cluster.js';

const config = loadConfigOrExit();
if (config.realtimeWorkers > 1 && !isRealtimeWorker()) {
  const logger = createLogger({ level: config.logLevel, name: 'realtime' });
  await runPrimary({ workers: config.realtimeWorkers, port: config.port, host: config.host, shutdownGraceMs: config.shutdownGraceMs, logger });
} else {
  await runInstance();
}

/** One realtime process: the whole instance, or one worker of it (connections handed over by the primary). */
async function runInstance(): Promise<void> {
  const stopTracing = startTracing({ endpoint: config.otelEndpoint, serviceName: 'kinora-realtime' });
  const logger = createLogger({ level: config.logLevel, name: 'realtime' });
  const db = await openDatabase(config, logger, 'kinora-realtime');
  // Kafka when KAFKA_BROKERS is set, else the in-process bus whose log lives in PostgreSQL.
  const bus = await openEventBus({
    kafkaBrokers: config.kafkaBrokers,
    pool: db.database.primary,
    logger,
    clientId: 'kinora-realtime',
    topicPartitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
  });
  // Counters come from analytics (ANALYTICS_SERVICE_URL) and its `analytics.counters` events.
  const app = await buildApp(config, { database: db.database, logger, bus });
  const worker = isRealtimeWorker();
  await serve(app, {
    listen: !worker,
    port: config.port,
    host: config.host,
    shutdownGraceMs: config.shutdownGraceMs,
    onShutdown: async () => {
      await bus.close();
      await db.close();
      await stopTracing();
    },
  });
  const rt = app.realtime.server();
  if (worker && rt) joinPrimary(rt.io, app.metrics);
  logger.info({ port: config.port, instance: app.realtime.settings.instanceId, worker }, 'realtime service ready');
}
