import { loadConfigOrExit } from '@kinora/config';
import { createLogger, serve, startTracing } from '@kinora/observability';
import { buildGateway } from './app.js';

const config = loadConfigOrExit();
const stopTracing = startTracing({ endpoint: config.otelEndpoint, serviceName: 'kinora-gateway' });
const logger = createLogger({ level: config.logLevel, name: 'gateway' });
try {
  const app = await buildGateway(config, { logger });
  await serve(app, { port: config.port, host: config.host, shutdownGraceMs: config.shutdownGraceMs, onShutdown: stopTracing });
  logger.info({ upstreams: config.upstreams, redis: config.redisUrl !== undefined }, 'gateway is ready');
} catch (err) {
  logger.fatal({ err }, 'start-up failed');
  process.exit(1);
}
