import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import type { Database } from './database.js';
import { registerDatabaseMetrics } from './database.metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
  }
}

/**
 * Decorates `app.db`, runs every request in a read-your-writes context, checks the database in `/readyz` and
 * reports its pools and replica lag on `/metrics` (when the observability plugin is registered). The owner of the Database closes it, not this plugin, because
 * several service plugins of one process share it.
 */
export const dbPlugin = fp(
  async function db(app: FastifyInstance, opts: { database: Database }) {
    app.decorate('db', opts.database);
    app.addHook('onRequest', (_request, _reply, done) => {
      opts.database.runInContext(done);
    });
    if (app.hasDecorator('readiness')) {
      (app as unknown as { readiness: { add(n: string, c: () => Promise<void>): void } }).readiness.add('postgres', () => opts.database.ping());
    }
    if (app.hasDecorator('metrics')) registerDatabaseMetrics((app as unknown as { metrics: Registry }).metrics, opts.database);
  },
  { name: '@kinora/db', fastify: '5.x' },
);
