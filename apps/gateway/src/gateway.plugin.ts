import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import { authPlugin, type TokenVerifier } from '@kinora/auth';
import type { Config } from '@kinora/config';
import type { Principal } from '@kinora/contracts';

export interface GatewayOptions {
  config: Pick<Config, 'corsOrigins'>;
  verifier: TokenVerifier;
  /** Called once a request is authenticated (e.g. to route its reads to the primary after it wrote). */
  onPrincipal?: (request: FastifyRequest, principal: Principal) => void;
}

/**
 * The gateway chain every API request passes before a service sees it: CORS for the configured web origins,
 * then authentication of bearer tokens. Registered at the root (fastify-plugin) so the service plugins mounted
 * after it share `request.principal` and `app.requireUser`.
 */
export const gatewayPlugin = fp(
  async function gateway(app: FastifyInstance, opts: GatewayOptions) {
    const origins = opts.config.corsOrigins;
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : [...origins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'traceparent', 'tus-resumable', 'upload-length', 'upload-metadata', 'upload-offset', 'upload-concat', 'upload-defer-length'],
      exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'location', 'upload-offset', 'upload-length', 'tus-resumable'],
      maxAge: 600,
      credentials: false,
    });
    await app.register(authPlugin, { verifier: opts.verifier, ...(opts.onPrincipal ? { onPrincipal: opts.onPrincipal } : {}) });
  },
  { name: '@kinora/gateway', fastify: '5.x', dependencies: ['@kinora/http/problem'] },
);
