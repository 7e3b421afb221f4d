import type {} from '@fastify/swagger';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import { commonErrors, PROBLEM_CONTENT_TYPE, problemType } from '@kinora/http';
import type { EarlyGets } from './early-gets.js';
import type { Logger } from './logger.js';
import { createMetricsRegistry, createRequestDurationHistogram } from './metrics.js';
import { parseTraceparent } from './traceparent.js';

/**
 * A readiness check: resolves when the dependency answers, rejects (or resolves false) when it does not. A string
 * means ready but degraded: it is shown as the check's `warning` in /readyz.
 */
export type ReadinessCheck = () => Promise<boolean | string | void>;

export interface Readiness {
  add(name: string, check: ReadinessCheck): void;
  run(timeoutMs?: number): Promise<{ ok: boolean; checks: Record<string, { ok: boolean; error?: string; warning?: string }> }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
    readiness: Readiness;
    /** Early answers to anonymous GETs of held resources (base app only; see EarlyGets). */
    earlyGets?: EarlyGets;
  }
  interface FastifyRequest {
    traceId: string | undefined;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify `genReqId`: echo a sane client `x-request-id`, else a fresh UUID. */
export function genReqId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
  return randomUUID();
}

export interface ObservabilityOptions {
  registry?: Registry;
  /** Routes not measured or logged per request (health probes, metrics scrapes). */
  quietRoutes?: string[];
  /** The early answers of the app's server (createBaseApp): measured and named like the routes' answers. */
  early?: EarlyGets;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Request ids, trace ids, per-route request-duration histograms, and `/healthz`, `/readyz`, `/metrics`.
 * Use with `genReqId` and `requestIdHeader: false` in the Fastify options.
 */
export const observabilityPlugin = fp(
  async function observability(app: FastifyInstance, opts: ObservabilityOptions) {
    const registry = opts.registry ?? createMetricsRegistry();
    const histogram = createRequestDurationHistogram(registry);
    const checks = new Map<string, ReadinessCheck>();
    const quiet = new Set(['/healthz', '/readyz', '/metrics', ...(opts.quietRoutes ?? [])]);

    const readiness: Readiness = {
      add(name, check) {
        checks.set(name, check);
      },
      async run(timeoutMs = 2000) {
        const results: Record<string, { ok: boolean; error?: string; warning?: string }> = {};
        await Promise.all(
          [...checks].map(async ([name, check]) => {
            try {
              const r = await withTimeout(check(), timeoutMs);
              results[name] = r === false ? { ok: false, error: 'not ready' } : typeof r === 'string' ? { ok: true, warning: r } : { ok: true };
            } catch (err) {
              results[name] = { ok: false, error: (err as Error).message };
            }
          }),
        );
        return { ok: Object.values(results).every((r) => r.ok), checks: results };
      },
    };
    app.decorate('metrics', registry);
    app.decorate('readiness', readiness);
    if (opts.early) {
      const early = opts.early;
      early.attach({ histogram, logger: app.log as unknown as Logger, genReqId });
      app.decorate('earlyGets', early);
      app.addHook('preClose', (done) => {
        early.close();
        done();
      });
    }
    app.decorateRequest('traceId', undefined);

    // Callback-style hooks: they run on every request, and an async hook costs a promise and a microtask turn.
    app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      reply.header('x-request-id', request.id);
      // Every answer declares its type truthfully: browsers must never sniff a JSON body (user text) as HTML.
      reply.header('x-content-type-options', 'nosniff');
      const traceparent = request.headers.traceparent;
      if (traceparent !== undefined) {
        const tp = parseTraceparent(traceparent as string);
        if (tp) {
          request.traceId = tp.traceId;
          request.log = request.log.child({ traceId: tp.traceId });
        }
      }
      done();
    });

    app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const route = request.routeOptions.url ?? 'unmatched';
      if (!quiet.has(route)) {
        histogram.observe({ method: request.method, route, status_code: reply.statusCode }, reply.elapsedTime / 1000);
      }
      done();
    });

    app.get('/healthz', { schema: { hide: true }, logLevel: 'warn' }, async () => ({ status: 'ok' }));

    app.get('/readyz', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
      const result = await readiness.run();
      if (result.ok) return { status: 'ready', checks: result.checks };
      const failing = Object.entries(result.checks)
        .filter(([, r]) => !r.ok)
        .map(([n]) => n);
      const err = commonErrors.SERVICE_UNAVAILABLE(`Not ready: ${failing.join(', ')}`);
      return reply
        .code(503)
        .type(PROBLEM_CONTENT_TYPE)
        .serializer(JSON.stringify)
        .send({
          type: problemType(err.code),
          title: err.title,
          status: 503,
          detail: err.message,
          instance: '/readyz',
          checks: Object.fromEntries(Object.entries(result.checks).map(([n, r]) => [n, { ok: r.ok }])),
        });
    });

    app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: '@kinora/observability', fastify: '5.x' },
);
