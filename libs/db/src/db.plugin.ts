import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import type { Database } from './database.js';
import { registerDatabaseMetrics } from './database.metrics.js';
import { formatLsnToken, LSN_HEADER, parseLsnToken } from './lsn-token.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
  }
}

/**
 * Decorates `app.db`, runs every request in a read-your-writes context, checks the database in `/readyz` and
 * reports its pools and replica lag on `/metrics` (when the observability plugin is registered). The owner of the
 * Database closes it, not this plugin, because several service plugins of one process share it.
 *
 * Read-your-writes: the request's `Kinora-Lsn` token (`users=0/16B3748,videos=…`) names, per database, the WAL
 * position its client has seen written; reads of this database go to a replica only once it has replayed that
 * position. A response whose request wrote carries the token back with this database's position raised to the
 * primary's current one (the other databases' parts echoed), for the client to send with its next requests.
 */
export const dbPlugin = fp(
  async function db(app: FastifyInstance, opts: { database: Database; more?: readonly Database[] }) {
    const all = [opts.database, ...(opts.more ?? [])];
    app.decorate('db', opts.database);
    // A request with a read-your-writes position may need the primary: never answered early (libs/observability).
    (app as { earlyGets?: { passOn(header: string): void } }).earlyGets?.passOn(LSN_HEADER);
    app.addHook('onRequest', (request, _reply, done) => {
      const token = parseLsnToken(request.headers[LSN_HEADER]);
      // Each database keeps its own context; nest them so that the handler runs inside all.
      const enter = (i: number): void => {
        if (i === all.length) return done();
        all[i]!.runInContext(() => enter(i + 1), token.get(all[i]!.name));
      };
      enter(0);
    });
    const stampPosition = async (request: FastifyRequest, reply: FastifyReply, wrote: Database[]): Promise<void> => {
      const token = parseLsnToken(request.headers[LSN_HEADER]);
      let changed = false;
      for (const d of wrote) {
        const lsn = await d.currentLsn();
        if (lsn === undefined) continue;
        d.recordWritePosition(lsn);
        const prev = token.get(d.name);
        if (prev === undefined || lsn > prev) token.set(d.name, lsn);
        changed = true;
      }
      if (changed) reply.header(LSN_HEADER, formatLsnToken(token));
    };
    // Callback style: most requests write nothing and pass without a promise or a microtask turn.
    app.addHook('onSend', (request, reply, payload, done) => {
      let wrote: Database[] | undefined;
      for (const d of all) if (d.contextWrote) (wrote ??= []).push(d);
      if (wrote === undefined) return done(null, payload);
      stampPosition(request, reply, wrote).then(
        () => done(null, payload),
        (err: unknown) => done(err as Error),
      );
    });
    if (app.hasDecorator('readiness')) {
      const readiness = (app as unknown as { readiness: { add(n: string, c: () => Promise<void>): void } }).readiness;
      all.forEach((d, i) => readiness.add(i === 0 ? 'postgres' : `postgres-${d.name}`, () => d.ping()));
    }
    if (app.hasDecorator('metrics')) for (const d of all) registerDatabaseMetrics((app as unknown as { metrics: Registry }).metrics, d);
  },
  { name: '@kinora/db', fastify: '5.x' },
);
