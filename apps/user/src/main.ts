// Configuration and tracing first (the SDK must hook `http` and `pg` before they load), then the service.
import { loadConfigOrExit } from '@kinora/config';
import { startTracing } from '@kinora/observability/tracing';

const config = loadConfigOrExit();
const stopTracing = startTracing({ endpoint: config.otelEndpoint, serviceName: 'kinora-user' });
const { openDatabase } = await import('@kinora/db');
const { createLogger, serve } = await import('@kinora/observability');
const { buildApp } = await import('./app.js');

const logger = createLogger({ level: config.logLevel, name: 'user' });
const db = await openDatabase(config, logger, 'kinora-user');
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
