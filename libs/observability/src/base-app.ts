import type {} from '@kinora/http';
import { createServer } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { clientErrorHandler, frameworkErrorHandler, httpCachePlugin, isUuid, problemPlugin } from '@kinora/http';
import { EarlyGets } from './early-gets.js';
import { deferredChildLoggerFactory, type Logger } from './logger.js';
import { genReqId, observabilityPlugin } from './observability.plugin.js';
import type { Registry } from 'prom-client';

export interface BaseAppOptions {
  logger: Logger;
  bodyLimitBytes: number;
  /** Proxies whose X-Forwarded-For is believed (Fastify `trustProxy`). */
  trustedProxies?: readonly string[];
  registry?: Registry;
  /** Serve the OpenAPI 3.1 document of every route registered afterwards at /api/v1/openapi.json. */
  openapi?: { title: string; version: string; publicUrl: string };
}

/**
 * The Fastify instance every Kinora process starts from: JSON logs with request ids, RFC 9457 problems for every
 * error, bounded bodies, health/readiness/metrics endpoints and, optionally, the generated OpenAPI document.
 */
export async function createBaseApp(opts: BaseAppOptions): Promise<FastifyInstance> {
  // Anonymous reads of held public resources are answered before routing (see EarlyGets; routes register them).
  const early = new EarlyGets();
  const app = Fastify({
    loggerInstance: opts.logger,
    childLoggerFactory: deferredChildLoggerFactory as never,
    genReqId,
    requestIdHeader: false,
    bodyLimit: opts.bodyLimitBytes,
    trustProxy: opts.trustedProxies && opts.trustedProxies.length > 0 ? [...opts.trustedProxies] : false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: {
      customOptions: { allErrors: true, removeAdditional: true, coerceTypes: 'array', useDefaults: true },
      // ajv-formats' `uuid` also accepts `urn:uuid:<uuid>`, which PostgreSQL's uuid type refuses: such an id got past
      // validation and failed as a 500. Ids are plain UUIDs (replaced once ajv-formats added its own).
      onCreate: (ajv: { addFormat(name: string, format: (value: string) => boolean): unknown }) => {
        ajv.addFormat('uuid', isUuid);
      },
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors raised before a route runs (undecodable URL, over-long path parameter) and requests Node's HTTP parser
    // rejects: Fastify would answer them with its own application/json bodies, bypassing the error handler.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // Plugins join Kafka consumer groups while they load. A process restarted after a crash waits for the group
    // coordinator to give up on its dead predecessor (the session timeout, 30 s) before its join completes:
    // Fastify's default 10 s would turn every such restart into a start-up failure.
    pluginTimeout: 60_000,
    // Fastify's own HTTP/1 server with the same settings, with early answers in front of its handler.
    serverFactory: (handler, given) => {
      const options = given as { keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number; maxRequestsPerSocket?: number };
      const server = createServer((req, res) => {
        if (!early.answer(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = options.keepAliveTimeout;
      server.requestTimeout = options.requestTimeout;
      server.setTimeout(options.connectionTimeout);
      if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
      return server;
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: without this Fastify would parse text/plain and answer 400 instead of 415.
  app.removeContentTypeParser('text/plain');
  await app.register(problemPlugin);
  // ETag/304 and Cache-Control for the GET routes that declare `config.httpCache`.
  await app.register(httpCachePlugin);
  await app.register(observabilityPlugin, { early, ...(opts.registry ? { registry: opts.registry } : {}) });
  if (opts.openapi) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: opts.openapi.title, version: opts.openapi.version, description: 'Kinora public API (spec/api.md)' },
        servers: [{ url: opts.openapi.publicUrl }],
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      },
    });
    app.get('/api/v1/openapi.json', { schema: { hide: true }, config: { rateLimitTier: 'none' } }, async () => app.swagger());
  }
  return app as unknown as FastifyInstance;
}
