import { loadConfigOrExit } from '@kinora/config';
import { openDatabase } from '@kinora/db';
import { createLogger, serve, startTracing } from '@kinora/observability';
import { buildApp } from './app.js';

// The transcoder as a worker process of its own: /healthz, /readyz, /metrics on PORT; the jobs in the database.
const config = loadConfigOrExit();
const stopTracing = startTracing({ endpoint: config.otelEndpoint, serviceName: 'kinora-transcoder' });
const logger = createLogger({ level: config.logLevel, name: 'transcoder' });
const db = await openDatabase(config, logger, 'kinora-transcoder');
try {
  const app = await buildApp(config, { database: db.database, logger });
  await serve(app, {
    port: config.port,
    host: config.host,
    shutdownGraceMs: config.shutdownGraceMs,
    onShutdown: async () => {
      await db.close();
      await stopTracing();
    },
  });
  logger.info({ port: config.port, concurrency: config.transcodeConcurrency }, 'transcoder worker is ready');
} catch (err) {
  logger.fatal({ err }, 'start-up failed');
  await db.close().catch(() => {});
  process.exit(1);
}
