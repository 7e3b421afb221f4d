import { createReadStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface WebAppOptions {
  /** The built web app (Vite's output): index.html and hashed files under assets/. */
  root: string;
}

/** Paths the platform answers itself: never the app's index.html, so an unknown one stays a 404 problem. */
const RESERVED = /^\/(?:api|internal|media|socket\.io|\.well-known|healthz|readyz|metrics|uploads)(?:\/|$)/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Vite names the files of assets/ after a hash of their content, so they never change under one URL. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html names the current hashed files: always revalidated so a new build is picked up at once. */
export const REVALIDATE = 'no-cache';

/**
 * The web app at `/` (embedded mode; in the cluster the edge serves the same files): files of `root` as they are,
 * `assets/*` cached forever, and every other path that is not the platform's own (API, media, health, sockets)
 * answered with index.html so the app routes it in the browser. A missing file with an extension, or under assets/,
 * is a 404 problem, never index.html (a stale page asking for an old chunk must see it fail, not parse HTML as JS).
 * Static files are not counted by the rate limits.
 */
export async function webAppPlugin(app: FastifyInstance, opts: WebAppOptions): Promise<void> {
  const root = normalize(opts.root);
  const indexFile = join(root, 'index.html');
  if (!existsSync(indexFile)) throw new Error(`the web app folder ${root} has no index.html: build it (npm run build) or set WEB_ROOT=off`);

  const options = app.initialConfig as { routerOptions?: { maxParamLength?: number }; maxParamLength?: number };
  const maxParamLength = options.routerOptions?.maxParamLength ?? options.maxParamLength ?? 100;

  async function sendIndex(reply: FastifyReply): Promise<FastifyReply> {
    const html = await readFile(indexFile);
    return reply.header('cache-control', REVALIDATE).type(TYPES['.html']!).send(html);
  }

  app.route({
    method: 'GET',
    url: '/*',
    schema: { hide: true },
    config: { rateLimitTier: 'none' },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?', 1)[0]!;
      if (RESERVED.test(path)) {
        // The router gives up on a path parameter longer than its limit and falls back to this catch-all: answer
        // what it answers without one (414 URI_TOO_LONG, rendered by the problem handler).
        if (path.split('/').some((segment) => segment.length > maxParamLength)) {
          throw Object.assign(new Error('path parameter too long'), { code: 'FST_ERR_MAX_PARAM_LENGTH', statusCode: 414 });
        }
        return reply.callNotFound();
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(path);
      } catch {
        return reply.callNotFound();
      }
      if (decoded === '/' || decoded === '/index.html') return sendIndex(reply);
      const file = normalize(join(root, decoded));
      if (!file.startsWith(root + sep) || decoded.includes('\0')) return reply.callNotFound();
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile()) {
        const ext = extname(file).toLowerCase();
        return reply
          .header('cache-control', decoded.startsWith('/assets/') ? IMMUTABLE : 'public, max-age=3600')
          .header('content-length', info.size)
          .type(TYPES[ext] ?? 'application/octet-stream')
          .send(createReadStream(file));
      }
      const last = decoded.slice(decoded.lastIndexOf('/') + 1);
      if (decoded.startsWith('/assets/') || last.includes('.')) return reply.callNotFound();
      return sendIndex(reply);
    },
  });
}
