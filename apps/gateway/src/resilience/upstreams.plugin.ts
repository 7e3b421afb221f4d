import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge } from 'prom-client';
import type { UpstreamPolicyConfig } from '@kinora/config';
import { AppError, commonErrors } from '@kinora/http';
import {
  BREAKER_STATE_VALUE,
  BulkheadFullError,
  CircuitOpenError,
  StaleCache,
  UpstreamPolicy,
  UpstreamTimeoutError,
  type BreakerState,
  type RouteClass,
} from '@kinora/resilience';
import { routeClassOf, stripQuery, type RouteTable } from '../routing/route-table.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's per-upstream policies (breaker, bulkhead, timeouts) and stale-if-error cache. */
    upstreams: UpstreamRegistry;
  }
  interface FastifyContextConfig {
    /** The upstream that owns this route, when it is not found from the route table. */
    gatewayUpstream?: string;
    /** Set on the gateway's proxy routes, which apply the upstream policy themselves. */
    gatewayProxied?: boolean;
  }
}

/** An upstream's answer as the proxy read it (a 5xx one counts as a failure of the upstream). */
export class UpstreamResponse {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[]>,
    readonly body: Buffer,
  ) {}
  get size(): number {
    return this.body.length;
  }
}

/**
 * Whether an answer counts as a failure of the upstream for its breaker (and the failure metric): every 5xx except a
 * 503 that carries `Retry-After`. That one is a service refusing on purpose, at once, because something behind it is
 * down (the database primary during an outage refuses writes that way): opening the breaker would also refuse the
 * reads that the service still answers.
 */
export function countsAgainstUpstream(status: number, headers: Record<string, string | string[] | undefined> | undefined): boolean {
  if (status < 500) return false;
  if (status !== 503 || !headers) return true;
  const retryAfter = Object.entries(headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  return retryAfter === undefined || retryAfter === '';
}

/** A response kept for stale-if-error. */
export interface StaleResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer | string;
  size: number;
}

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT']);

/** An error raised while reaching an upstream over the network (connection refused, reset, …). */
export class UpstreamUnreachableError extends Error {
  constructor(
    readonly upstream: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`${upstream} could not be reached${code ? ` (${code})` : ''}`, { cause });
    this.name = 'UpstreamUnreachableError';
  }
}

export class UpstreamRegistry {
  private readonly policies = new Map<string, UpstreamPolicy>();
  readonly stale: StaleCache<StaleResponse>;

  constructor(
    private readonly config: UpstreamPolicyConfig,
    private readonly onCreate: (policy: UpstreamPolicy) => void,
    private readonly onTransition: (upstream: string, from: BreakerState, to: BreakerState, reason?: string) => void,
  ) {
    this.stale = new StaleCache<StaleResponse>(config.staleIfErrorMs);
  }

  get(name: string): UpstreamPolicy {
    let p = this.policies.get(name);
    if (!p) {
      const c = this.config;
      p = new UpstreamPolicy({
        name,
        timeouts: { read: c.timeouts.readMs, write: c.timeouts.writeMs, upload: c.timeouts.uploadMs },
        retries: c.retries,
        breakerFailures: c.breakerFailures,
        halfOpenAfterMs: c.breakerHalfOpenAfterMs,
        maxConcurrency: c.maxConcurrency,
        maxQueue: c.maxQueue,
        // 4xx answers are the client's problem, not the upstream's; a deliberate 503 is not a sick upstream either.
        isFailure: (e) => !(e instanceof AppError) || countsAgainstUpstream(e.status, e.headers),
        isFailureResult: (r) => r instanceof UpstreamResponse && countsAgainstUpstream(r.status, r.headers),
        isRetryable: (r) =>
          'error' in r
            ? r.error instanceof UpstreamUnreachableError && RETRYABLE_CODES.has(r.error.code ?? '')
            : r.result instanceof UpstreamResponse && r.result.status >= 502 && r.result.status <= 504,
        onStateChange: (t) => this.onTransition(t.upstream, t.from, t.to, t.reason),
      });
      this.policies.set(name, p);
      this.onCreate(p);
    }
    return p;
  }

  /** Stops the policies' timers (on close). */
  dispose(): void {
    for (const p of this.policies.values()) p.dispose();
  }

  /** Breaker state of every upstream used so far. */
  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.policies].map(([n, p]) => [n, p.state]));
  }
}

/** Turns a policy failure into the problem the client gets: 503 with `Retry-After`, or 504. */
export function upstreamProblem(err: unknown, upstream: string): unknown {
  if (err instanceof CircuitOpenError) {
    return commonErrors.SERVICE_UNAVAILABLE(`The ${upstream} service is unavailable; retry in ${err.retryAfterSec} s`, undefined, {
      'retry-after': String(err.retryAfterSec),
    });
  }
  if (err instanceof BulkheadFullError) {
    return commonErrors.SERVICE_UNAVAILABLE(`The ${upstream} service is at capacity; retry shortly`, undefined, { 'retry-after': '1' });
  }
  if (err instanceof UpstreamTimeoutError) {
    return commonErrors.UPSTREAM_TIMEOUT(`The ${upstream} service did not answer within ${err.timeoutMs} ms`);
  }
  if (err instanceof UpstreamUnreachableError) {
    return commonErrors.SERVICE_UNAVAILABLE(`The ${upstream} service could not be reached; retry shortly`, undefined, { 'retry-after': '1' });
  }
  return err;
}

function failureReason(err: unknown): string {
  if (err instanceof CircuitOpenError) return 'circuit_open';
  if (err instanceof BulkheadFullError) return 'bulkhead_full';
  if (err instanceof UpstreamTimeoutError) return 'timeout';
  if (err instanceof UpstreamUnreachableError) return 'unreachable';
  return 'error';
}

/** Reads may be answered from the stale cache when they are anonymous (answers for one user are never shared). */
export function staleKey(request: FastifyRequest, upstream: string): string | undefined {
  if (request.method !== 'GET' || request.headers.authorization !== undefined) return undefined;
  return `${upstream} ${request.url}`;
}

export interface UpstreamsPluginOptions {
  policy: UpstreamPolicyConfig;
  routes: RouteTable;
}

/**
 * Per-upstream resilience for both modes. Cluster mode's proxy calls `app.upstreams.get(name).execute(...)` itself;
 * in embedded mode this plugin wraps the handler of every route an upstream owns (service plugins registered after
 * it), so an in-process service gets the same timeout, bulkhead and breaker. Breaker states are exported as the
 * gauge `gateway_circuit_breaker_state{upstream}` (0 closed, 1 open, 2 half-open) and logged on every transition.
 */
export const upstreamsPlugin = fp(
  async function upstreams(app: FastifyInstance, opts: UpstreamsPluginOptions) {
    const gauge = new Gauge({
      name: 'gateway_circuit_breaker_state',
      help: 'Circuit breaker state per upstream: 0 closed, 1 open, 2 half-open',
      labelNames: ['upstream'] as const,
      registers: [app.metrics],
    });
    const failures = new Counter({
      name: 'gateway_upstream_failures_total',
      help: 'Calls to upstreams that failed, by upstream and reason',
      labelNames: ['upstream', 'reason'] as const,
      registers: [app.metrics],
    });
    const staleServed = new Counter({
      name: 'gateway_stale_responses_total',
      help: 'Reads answered from the stale-if-error cache because their upstream failed',
      labelNames: ['upstream'] as const,
      registers: [app.metrics],
    });

    const registry = new UpstreamRegistry(
      opts.policy,
      (p) => gauge.set({ upstream: p.name }, 0),
      (upstream, from, to, reason) => {
        gauge.set({ upstream }, BREAKER_STATE_VALUE[to]);
        const line = { upstream, from: from.toUpperCase(), to: to.toUpperCase(), ...(reason ? { reason } : {}) };
        if (to === 'open') app.log.warn(line, `circuit breaker of ${upstream}: ${from.toUpperCase()} -> OPEN`);
        else app.log.info(line, `circuit breaker of ${upstream}: ${from.toUpperCase()} -> ${to.toUpperCase()}`);
      },
    );
    app.decorate('upstreams', registry);
    app.addHook('onClose', async () => registry.dispose());
    for (const name of opts.routes.upstreams()) registry.get(name);

    /** Answers from the stale cache if it can; returns whether it did. */
    const sendStale = (request: FastifyRequest, reply: FastifyReply, upstream: string): boolean => {
      const key = staleKey(request, upstream);
      const hit = key ? registry.stale.recall(key) : undefined;
      if (!hit) return false;
      staleServed.inc({ upstream });
      request.log.warn({ upstream, ageSec: hit.ageSec }, 'upstream failed: answering from the stale-if-error cache');
      reply.code(hit.value.status).headers(hit.value.headers).header('age', String(hit.ageSec)).header('x-kinora-stale', 'true');
      reply.send(hit.value.body);
      return true;
    };
    app.decorate('gatewaySendStale', sendStale);
    app.decorate('gatewayRecordFailure', (upstream: string, err: unknown) => failures.inc({ upstream, reason: failureReason(err) }));

    app.addHook('onRoute', (route) => {
      if (route.config?.gatewayProxied) return;
      const upstream = route.config?.gatewayUpstream ?? opts.routes.ownerOf(route.url ?? route.path);
      if (!upstream) return;
      const policy = registry.get(upstream);
      const handler = route.handler as (this: FastifyInstance, req: FastifyRequest, reply: FastifyReply) => unknown;
      const guarded = async function guarded(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
        const cls: RouteClass = routeClassOf(request.method, stripQuery(request.url));
        try {
          const result = await policy.execute(cls, async () => handler.call(this, request, reply));
          return result === undefined && !reply.sent ? reply : result;
        } catch (err) {
          if (!(err instanceof AppError) || countsAgainstUpstream(err.status, err.headers)) {
            failures.inc({ upstream, reason: failureReason(err) });
            if (!reply.sent && sendStale(request, reply, upstream)) return reply;
          }
          throw upstreamProblem(err, upstream);
        }
      };
      route.handler = guarded as RouteHandlerMethod;

      // Remember good anonymous reads of in-process services for stale-if-error.
      if (registry.stale.enabled && (route.method === 'GET' || (Array.isArray(route.method) && route.method.includes('GET')))) {
        const remember = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
          if (reply.statusCode !== 200) return payload;
          const key = staleKey(request, upstream);
          if (!key || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) return payload;
          const ct = reply.getHeader('content-type');
          registry.stale.store(key, {
            status: 200,
            headers: ct === undefined ? {} : { 'content-type': String(ct) },
            body: payload,
            size: Buffer.byteLength(payload),
          });
          return payload;
        };
        const existing = route.onSend;
        route.onSend = existing === undefined ? [remember] : Array.isArray(existing) ? [...existing, remember] : [existing, remember];
      }
    });
  },
  { name: '@kinora/gateway/upstreams', fastify: '5.x', dependencies: ['@kinora/observability', '@kinora/http/problem'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    gatewaySendStale: (request: FastifyRequest, reply: FastifyReply, upstream: string) => boolean;
    gatewayRecordFailure: (upstream: string, err: unknown) => void;
  }
}

