import type { FastifyInstance } from 'fastify';
import { loadConfigOrExit, type Config } from '@kinora/config';
import { startTracing } from '@kinora/observability/tracing';
import type { Database } from '@kinora/db';
import type { Logger } from '@kinora/observability';

export type BuildService = (config: Config, deps: { database: Database; logger: Logger }) => Promise<FastifyInstance>;

/**
 * The process entry of a standalone service: configuration (exits with a clear message when it is invalid),
 * tracing, then everything else. `load` imports the service's `buildApp` lazily, so that the tracing SDK hooks
 * `http` and `pg` before they are loaded. Opens the database (migrations are the service's), serves on
 * `PORT`/`HOST` and drains on SIGTERM; a start-up failure is logged and exits 1.
 */
export async function runService(name: string, load: () => Promise<BuildService>): Promise<void> {
  const config = loadConfigOrExit();
  const stopTracing = startTracing({ endpoint: config.otelEndpoint, serviceName: `kinora-${name}` });
  const [{ openDatabase }, { createLogger, serve }] = await Promise.all([import('@kinora/db'), import('@kinora/observability')]);
  const logger = createLogger({ level: config.logLevel, name });
  const db = await openDatabase(config, logger, `kinora-${name}`);
  try {
    const build = await load();
    const app = await build(config, { database: db.database, logger });
    await serve(app, {
      port: config.port,
      host: config.host,
      shutdownGraceMs: config.shutdownGraceMs,
      onShutdown: async () => {
        await db.close();
        await stopTracing();
      },
    });
    logger.info({ port: config.port }, `${name} service ready`);
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await db.close().catch(() => {});
    await stopTracing().catch(() => {});
    process.exit(1);
  }
}
