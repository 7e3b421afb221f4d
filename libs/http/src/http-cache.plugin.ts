import { hash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/**
 * How HTTP caches (browsers, the CDN) may keep a GET's answer:
 * - `public`: the same for everybody (feeds, channel lists): `public, max-age, s-maxage` whoever asks.
 * - `public-unless-user`: the same for every anonymous client, but a signed-in client may get more (its own private
 *   or unfinished video): public for anonymous requests, `private, max-age=0` for signed-in ones (`Authorization`,
 *   or a principal the auth plugin set from the gateway's identity). `Vary:
 *   Authorization` either way, so no shared cache hands a signed-in answer to someone else.
 * - `private`: only for the user who asked, never stored (`private, no-store`).
 * Every class but `private` gets a weak `ETag` (a hash of the body) and answers `304` to a matching `If-None-Match`.
 */
export type HttpCacheClass = 'public' | 'public-unless-user' | 'private';

export interface HttpCacheRouteConfig {
  class: HttpCacheClass;
  /** Browser lifetime (s) of public answers. Default 0 (revalidate each time with the ETag). */
  maxAgeSec?: number;
  /** Shared-cache (CDN) lifetime (s) of public answers. Default 60. */
  sMaxAgeSec?: number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** HTTP caching of this GET route's 200 answers (see `httpCachePlugin`). */
    httpCache?: HttpCacheRouteConfig;
  }
}

/** A weak validator of a body: `W/"<sha1, base64url>"` (weak: equal JSON, not byte-for-byte promises). */
export function weakEtag(body: string | Buffer): string {
  return `W/"${hash('sha1', body, 'base64url')}"`;
}

/** Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2: `*`, or a list of tags). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const raw of ifNoneMatch.split(',')) {
    const tag = raw.trim();
    if (tag === '*') return true;
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === opaque) return true;
  }
  return false;
}

/** The `Cache-Control` of a 200 answer of a route of `cfg`, for this request. */
export function cacheControlFor(cfg: HttpCacheRouteConfig, authenticated: boolean): string {
  if (cfg.class === 'private' || (cfg.class === 'public-unless-user' && authenticated)) {
    return cfg.class === 'private' ? 'private, no-store' : 'private, max-age=0';
  }
  return `public, max-age=${cfg.maxAgeSec ?? 0}, s-maxage=${cfg.sMaxAgeSec ?? 60}`;
}

async function httpCache(app: FastifyInstance): Promise<void> {
  // Callback style (it runs on every answer of every route): no promise, no microtask turn.
  app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void) => {
    done(null, cacheHeaders(request, reply, payload));
  });
}

/** Sets the caching headers of a GET's answer; returns the payload to send (empty for a 304). */
function cacheHeaders(request: FastifyRequest, reply: FastifyReply, payload: unknown): unknown {
  const cfg = request.routeOptions.config?.httpCache;
  if (!cfg || (request.method !== 'GET' && request.method !== 'HEAD')) return payload;
  if (reply.statusCode !== 200) {
    // Problems and redirects are not stored by shared caches.
    if (reply.statusCode >= 400 && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  }
  if (reply.hasHeader('cache-control')) return payload;
  // Signed in: a token of its own, or (behind the gateway) the identity the auth plugin put on the request.
  const authenticated = request.headers.authorization !== undefined || (request as { principal?: unknown }).principal != null;
  reply.header('cache-control', cacheControlFor(cfg, authenticated));
  if (cfg.class === 'private') return payload;
  if (cfg.class === 'public-unless-user') reply.header('vary', 'Authorization');
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
  // A route that knows its body's validator already (see `RenderedBodies`) set it: no second hash.
  const preset = reply.getHeader('etag');
  const etag = typeof preset === 'string' ? preset : weakEtag(payload);
  if (preset === undefined) reply.header('etag', etag);
  if (!etagMatches(request.headers['if-none-match'], etag)) return payload;
  reply.code(304);
  reply.removeHeader('content-type');
  reply.removeHeader('content-length');
  return '';
}

/** A serialized JSON body with its weak validator and its length in bytes. */
export interface HeldBody {
  readonly body: string;
  readonly etag: string;
  readonly bytes: number;
}

/**
 * The serialized JSON bodies of response objects that are shared between requests (one object per version of a
 * resource, replaced rather than changed, e.g. a cached public video), with their weak `ETag`: a hit skips the
 * serializer and the hash. Kept by object identity (a `WeakMap`), so a body goes when its object goes. Only for
 * objects nobody changes after they were first sent.
 */
export class RenderedBodies {
  private readonly held = new WeakMap<object, HeldBody>();

  /** The body `send` rendered for `payload`, if it did. */
  peek(payload: object): HeldBody | undefined {
    return this.held.get(payload);
  }

  /** Sends `payload` as the route's 200 JSON (its response schema's serializer), from the held body when it has one. */
  send(reply: FastifyReply, payload: object): FastifyReply {
    let r = this.held.get(payload);
    if (r === undefined) {
      const serialized = reply.serialize(payload);
      const body = typeof serialized === 'string' ? serialized : Buffer.from(serialized as ArrayBuffer).toString('utf8');
      r = { body, etag: weakEtag(body), bytes: Buffer.byteLength(body) };
      this.held.set(payload, r);
    }
    return reply.header('etag', r.etag).type('application/json; charset=utf-8').send(r.body);
  }
}

/**
 * `ETag`/`304` and `Cache-Control` for GET routes that declare `config.httpCache` (other routes are untouched:
 * media sets its own immutable headers). Registered once per app (the base app does it).
 */
export const httpCachePlugin = fp(httpCache, { name: 'kinora-http-cache', fastify: '5.x' });
