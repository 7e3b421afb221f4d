import type {} from '@fastify/swagger';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { Pool } from 'undici';
import { commonErrors } from '@kinora/http';
import { CircuitOpenError } from '@kinora/resilience';
import { isIdempotentRead, routeClassOf, stripQuery, defaultTierOf, type RouteTable } from '../routing/route-table.js';
import { countsAgainstUpstream, staleKey, upstreamProblem, UpstreamResponse } from '../resilience/upstreams.plugin.js';
import { forward } from './forward.js';
import { routesFromOpenApi, type OpenApiDocument } from './openapi-routes.js';

export interface ProxyPluginOptions {
  /** Connection pools per upstream name. */
  pools: ReadonlyMap<string, Pool>;
  identitySecret: string;
  routes: RouteTable;
  /** How long to wait at start for each upstream's OpenAPI document (ms). */
  discoveryTimeoutMs: number;
  /** Largest response body read from an upstream (default 32 MiB). */
  maxResponseBytes?: number;
}

/** Fetches an upstream's route table (its OpenAPI document), retrying until the deadline. */
export async function discoverUpstream(pool: Pool, timeoutMs: number): Promise<OpenApiDocument | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await pool.request({ method: 'GET', path: '/api/v1/openapi.json', headersTimeout: 2_000, bodyTimeout: 2_000 });
      if (res.statusCode === 200) return (await res.body.json()) as OpenApiDocument;
      await res.body.dump();
    } catch {
      // not up yet
    }
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await sleep(Math.min(100 * 2 ** attempt, 2_000, left));
  }
}

/** The `detail` (else `title`) of a problem body, or its first bytes: enough to say why an upstream failed. */
export function problemDetail(body: Buffer | string): string {
  const text = typeof body === 'string' ? body : body.toString('utf8', 0, Math.min(body.length, 4096));
  try {
    const parsed = JSON.parse(text) as { detail?: unknown; title?: unknown };
    const d = typeof parsed.detail === 'string' ? parsed.detail : typeof parsed.title === 'string' ? parsed.title : undefined;
    if (d !== undefined) return d.slice(0, 300);
  } catch {
    // not JSON
  }
  return text.slice(0, 300);
}

const CATCH_ALL_METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** What the gateway exposes: the API, the well-known documents (the JWKS) and media (playlists, segments). */
const PUBLIC_PREFIXES = ['/api/v1/', '/.well-known/', '/media/'];

/**
 * Cluster mode: the routes of every configured upstream, proxied. At start it reads each upstream's OpenAPI
 * document and registers its operations with the same schemas, so the gateway validates requests (400 problem)
 * before any service work and publishes a complete OpenAPI document itself. Paths an upstream did not declare
 * (its document could not be read in time, or it is newer than the gateway's start) are forwarded by prefix through
 * a catch-all and validated by the service only.
 *
 * Every forwarded call goes through the upstream's policy (bulkhead, retries for reads, breaker, timeout); the body
 * of the answer is read within the timeout. Anonymous good reads are remembered for stale-if-error.
 */
export async function proxyPlugin(app: FastifyInstance, opts: ProxyPluginOptions): Promise<void> {
  const maxResponseBytes = opts.maxResponseBytes ?? 32 * 1024 * 1024;
  const registry = app.upstreams;

  // tus uploads carry raw bytes: pass the stream through instead of parsing it.
  app.addContentTypeParser('application/offset+octet-stream', (_request, payload, done) => done(null, payload));

  const handle = async (request: FastifyRequest, reply: FastifyReply, upstream: string): Promise<unknown> => {
    const pool = opts.pools.get(upstream);
    if (!pool) throw commonErrors.NOT_FOUND(`No route ${request.method} ${stripQuery(request.url)}`);
    const policy = registry.get(upstream);
    const path = stripQuery(request.url);
    let res: UpstreamResponse;
    try {
      res = await policy.execute(routeClassOf(request.method, path), ({ signal }) => forward(request, { upstream, pool, identitySecret: opts.identitySecret, signal, maxResponseBytes }), {
        idempotent: isIdempotentRead(request.method),
      });
    } catch (err) {
      app.gatewayRecordFailure(upstream, err);
      if (!(err instanceof CircuitOpenError)) {
        request.log.warn({ upstream, route: `${request.method} ${request.routeOptions.url ?? path}`, err: (err as Error).message }, `call to ${upstream} failed`);
      }
      if (app.gatewaySendStale(request, reply, upstream)) return reply;
      throw upstreamProblem(err, upstream);
    }
    const key = staleKey(request, upstream);
    if (res.status >= 500) {
      // A 503 with Retry-After (a refusal because something behind the service is down) is not the upstream's
      // failure: neither its breaker nor gateway_upstream_failures_total counts it (as for in-process services).
      if (countsAgainstUpstream(res.status, res.headers)) {
        app.gatewayRecordFailure(upstream, new Error('status'));
        // What an operator needs to find why a breaker opens: the answer that counted against the upstream.
        request.log.warn(
          { upstream, route: `${request.method} ${request.routeOptions.url ?? path}`, status: res.status, detail: problemDetail(res.body) },
          `${upstream} answered ${res.status}: counted by its circuit breaker`,
        );
      }
      if (key && app.gatewaySendStale(request, reply, upstream)) return reply;
    } else if (key && res.status === 200 && !/no-store|private/.test(String(res.headers['cache-control'] ?? ''))) {
      registry.stale.store(key, { status: res.status, headers: res.headers, body: res.body, size: res.body.length });
    }
    reply.code(res.status).headers(res.headers);
    return reply.send(res.body);
  };

  const discovered = await Promise.all(
    [...opts.pools].map(async ([name, pool]) => {
      const doc = await discoverUpstream(pool, opts.discoveryTimeoutMs);
      if (!doc) {
        app.log.warn({ upstream: name }, `no OpenAPI document from ${name} in time: its routes are forwarded by prefix and validated by the service only`);
        return [];
      }
      try {
        return routesFromOpenApi(doc).map((r) => ({ ...r, upstream: name }));
      } catch (err) {
        app.log.error({ upstream: name, err }, `the OpenAPI document of ${name} cannot be used: its routes are forwarded by prefix`);
        return [];
      }
    }),
  );

  const all = discovered.flat();
  const withHead = new Set(all.filter((r) => r.method === 'HEAD').map((r) => r.url));
  for (const r of all) {
    // Only the public API is proxied: a service's other routes (health, internal reads) never become public.
    if (!PUBLIC_PREFIXES.some((p) => r.url.startsWith(p))) {
      app.log.warn({ upstream: r.upstream, route: `${r.method} ${r.url}` }, 'an upstream documents a route outside the public API: skipped');
      continue;
    }
    const owner = opts.routes.ownerOf(r.url);
    if (owner !== undefined && owner !== r.upstream) {
      app.log.warn({ upstream: r.upstream, owner, route: `${r.method} ${r.url}` }, 'an upstream declares a route another service owns: skipped');
      continue;
    }
    try {
      app.route({
        method: r.method,
        url: r.url,
        schema: r.schema,
        ...(r.method === 'GET' && withHead.has(r.url) ? { exposeHeadRoute: false } : {}),
        config: { rateLimitTier: r.tier ?? defaultTierOf(r.method, r.url), gatewayUpstream: r.upstream, gatewayProxied: true },
        handler: (request, reply) => handle(request, reply, r.upstream),
      });
    } catch (err) {
      app.log.warn({ upstream: r.upstream, route: `${r.method} ${r.url}`, err: (err as Error).message }, 'route not registered');
    }
  }
  app.log.info({ routes: all.length, upstreams: [...opts.pools.keys()] }, 'gateway routes loaded from upstream OpenAPI documents');

  // Everything else under the API prefix goes to its owner by path; unknown paths are a 404 problem.
  for (const prefix of PUBLIC_PREFIXES.map((p) => `${p}*`)) {
    app.route({
      method: CATCH_ALL_METHODS,
      url: prefix,
      schema: { hide: true },
      config: { gatewayProxied: true },
      handler: (request, reply) => {
        const owner = opts.routes.ownerOf(request.url);
        if (owner === undefined) throw commonErrors.NOT_FOUND(`No route ${request.method} ${stripQuery(request.url)}`);
        return handle(request, reply, owner);
      },
    });
  }
}
