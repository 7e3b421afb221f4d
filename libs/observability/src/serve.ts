import type { FastifyInstance } from 'fastify';

export interface ServeOptions {
  port: number;
  host: string;
  /** How long in-flight requests may take after SIGTERM before the process closes anyway. */
  shutdownGraceMs: number;
  /** Runs after the server closed (pools, brokers, embedded database). */
  onShutdown?: () => Promise<void>;
  /**
   * `false` for a cluster worker whose connections are handed over by its primary: the app is made ready but does
   * not listen itself, and the worker also drains when its primary goes away.
   */
  listen?: boolean;
}

/**
 * Listens, then on SIGTERM/SIGINT drains: stops accepting connections (new requests get 503), waits for in-flight
 * requests up to the grace period, runs `onShutdown`, and exits 0 (1 when something failed).
 */
export async function serve(app: FastifyInstance, opts: ServeOptions): Promise<void> {
  if (opts.listen === false) await app.ready();
  else await app.listen({ port: opts.port, host: opts.host });
  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: draining requests');
    const timer = setTimeout(() => {
      app.log.error({ graceMs: opts.shutdownGraceMs }, 'grace period over: closing remaining connections');
      app.server.closeAllConnections();
    }, opts.shutdownGraceMs);
    timer.unref();
    let code = 0;
    try {
      await app.close();
    } catch (err) {
      app.log.error({ err }, 'error while closing the server');
      code = 1;
    }
    try {
      await opts.onShutdown?.();
    } catch (err) {
      app.log.error({ err }, 'error while releasing resources');
      code = 1;
    }
    clearTimeout(timer);
    app.log.info({}, 'stopped');
    process.exit(code);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  if (opts.listen === false) process.once('disconnect', () => void shutdown('disconnect'));
}
