import type { FastifyInstance } from 'fastify';
import type { Config } from '@kinora/config';
import { createBaseApp, type Logger } from '@kinora/observability';
import { webAppPlugin } from './web-app.plugin.js';

/**
 * The web app as its own process: the chart's `web` Deployment (`node apps/gateway/dist/web-main.js`, the kinora
 * image, which holds the built bundle at apps/web/dist). The base app (problems, `/healthz`, `/readyz`, `/metrics`)
 * plus the same static serving as the embedded gateway (`webAppPlugin`: hashed assets immutable, index.html
 * revalidated, SPA fallback; the platform's own paths — `/api`, `/media`, `/socket.io`… — are 404 problems here,
 * since the ingress routes them to the gateway). No database, no bus, no tokens, no upstreams.
 */
export async function buildWebServer(config: Config, deps: { logger: Logger }): Promise<FastifyInstance> {
  if (!config.webRoot) throw new Error('WEB_ROOT must name the built web app (for example /app/apps/web/dist): the web server has nothing else to serve');
  const app = await createBaseApp({ logger: deps.logger, bodyLimitBytes: config.bodyLimitBytes, trustedProxies: config.trustedProxies });
  await app.register(webAppPlugin, { root: config.webRoot });
  return app;
}
