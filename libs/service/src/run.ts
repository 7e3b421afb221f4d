import type { FastifyInstance } from 'fastify';
import { loadConfigOrExit, type Config } from '@kinora/config';
import { startTracing } from '@kinora/observability/tracing';
import type { Database } from '@kinora/db';
import type { Logger } from '@kinora/observability';
import { assertPortFree } from '@kinora/config/port-check';

export type BuildService = (config: Config, deps: { database: Database; logger: Logger }) => Promise<FastifyInstance>;
/** The build function of a service without a database (the gateway). */
export type BuildServiceWithoutDatabase = (config: Config, deps: { logger: Logger }) => Promise<FastifyInstance>;

export interface RunServiceOptions {
  /** Open the database (default true). `false` for a service that owns none: its build gets only the logger. */
  database?: boolean;
  /** More fields for the "service ready" log line (e.g. the gateway's upstreams). */
  readyFields?: (config: Config) => Record<string, unknown>;
  /** Listen on `PORT` (default true). `false`: a worker whose connections are handed over by a primary process. */
  listen?: boolean;
  /** Runs once the app serves (e.g. a worker joining its primary); the fields it returns join the ready line. */
  afterServe?: (app: FastifyInstance) => Record<string, unknown> | void;
}

/**
 * The process entry of a standalone service: configuration (exits with a clear message when it is invalid),
 * tracing, then everything else. `load` imports the service's `buildApp` lazily, so that the tracing SDK hooks
 * `http` and `pg` before they are loaded. Opens the database (migrations are the service's) unless
 * `database: false`, serves on `PORT`/`HOST` and drains on SIGTERM; a start-up failure is logged and exits 1.
 */
export async function runService(name: string, load: () => Promise<BuildService>, opts?: RunServiceOptions & { database?: true }): Promise<void>;
export async function runService(name: string, load: () => Promise<BuildServiceWithoutDatabase>, opts: RunServiceOptions & { database: false }): Promise<void>;
export async function runService(name: string, load: () => Promise<BuildService | BuildServiceWithoutDatabase>, opts: RunServiceOptions = {}): Promise<void> {
  const config = loadConfigOrExit();
  const stopTracing = startTracing({ endpoint: config.otelEndpoint, serviceName: `kinora-${name}` });
  const [{ openDatabase, databaseEntityOf }, { createLogger, serve }] = await Promise.all([import('@kinora/db'), import('@kinora/observability')]);
  const logger = createLogger({ level: config.logLevel, name });
  if (opts.listen !== false) await exitWhenPortTaken(config, logger);
  const db = opts.database === false ? undefined : await openDatabase(config, logger, `kinora-${name}`, databaseEntityOf(name));
  try {
    const build = (await load()) as BuildService;
    const app = await build(config, db ? { database: db.database, logger } : ({ logger } as { database: Database; logger: Logger }));
    await serve(app, {
      ...(opts.listen === false ? { listen: false } : {}),
      port: config.port,
      host: config.host,
      shutdownGraceMs: config.shutdownGraceMs,
      onShutdown: async () => {
        await db?.close();
        await stopTracing();
      },
    });
    const fields = opts.afterServe?.(app);
    logger.info({ port: config.port, ...opts.readyFields?.(config), ...fields }, `${name} service ready`);
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await db?.close().catch(() => {});
    await stopTracing().catch(() => {});
    process.exit(1);
  }
}

/**
 * A taken `PORT` ends the start-up before anything else starts (the database, consumers), in one line that says
 * what to change, instead of a stack trace and the noise of everything stopping again.
 */
export async function exitWhenPortTaken(config: Pick<Config, 'port' | 'host'>, logger: Pick<Logger, 'fatal'>): Promise<void> {
  try {
    await assertPortFree(config.port, config.host);
  } catch (err) {
    logger.fatal({ port: config.port, host: config.host }, (err as Error).message);
    process.exit(1);
  }
}
