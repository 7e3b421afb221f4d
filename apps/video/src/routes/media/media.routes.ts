import type { FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { contentTypeFromKey, InvalidKeyError, ObjectNotFoundError, RangeNotSatisfiableError, type ObjectStore } from '@kinora/storage';
import { videoErrors } from '../../errors.js';
import type { MediaSigner } from '../../services/media.signer.js';
import type { MediaAccess } from '../../services/media.access.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const IMMUTABLE = 'public, max-age=604800, immutable';
export const MANIFEST = 'public, max-age=10';

/** Manifests can change (a re-transcode); segments, init segments, images and sprites never do. */
export function cacheControlFor(key: string): string {
  return /\.(m3u8|mpd|vtt)$/i.test(key) ? MANIFEST : IMMUTABLE;
}

/**
 * `Range: bytes=…` → one inclusive range against `size`; undefined when there is no usable single range (the
 * whole object is sent, as RFC 9110 allows), 'unsatisfiable' for a range that starts past the end.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Range, Content-Length, Accept-Ranges, ETag',
  'cross-origin-resource-policy': 'cross-origin',
};

/**
 * Media for players on any site: answers every origin (also preflights), whatever CORS the API has. Given to the
 * gateway's CORS plugin as this route's own policy, and set by the handler too (standalone, no gateway).
 */
const mediaCors = {
  origin: '*',
  methods: ['GET', 'HEAD', 'OPTIONS'],
  allowedHeaders: ['range', 'if-none-match', 'if-modified-since'],
  exposedHeaders: ['content-range', 'content-length', 'accept-ranges', 'etag'],
  maxAge: 86_400,
  credentials: false,
};

/**
 * `/media/<videoId>/<file>` for public videos, `/media/s/<token>/<videoId>/<file>` (signed, any visibility) —
 * objects under `media/<videoId>/` of the store, with Range, caching headers and open CORS.
 */
export const mediaRoutes: FastifyPluginAsync<{ store: ObjectStore; signer: MediaSigner; access: MediaAccess }> = async (app, { store, signer, access }) => {
  const config = { rateLimitTier: 'none' as const, cors: mediaCors };
  // Not part of the API document (@fastify/swagger reads `hide`).
  const hidden = { hide: true } as FastifySchema;

  const resolveKey = async (request: FastifyRequest): Promise<string> => {
    const path = (request.params as { '*': string })['*'] ?? '';
    const parts = path.split('/');
    let token: string | undefined;
    if (parts[0] === 's') {
      token = parts[1];
      parts.splice(0, 2);
    }
    const [videoId, ...rest] = parts;
    const notFound = () => videoErrors.MEDIA_NOT_FOUND('No such media');
    if (!videoId || !UUID.test(videoId) || rest.length === 0) throw notFound();
    if (token !== undefined) {
      const check = signer.verify(token, videoId.toLowerCase());
      if (check === 'invalid') throw videoErrors.MEDIA_URL_INVALID('The media URL signature is invalid');
      if (check === 'expired') throw videoErrors.MEDIA_URL_EXPIRED('The media URL has expired; fetch the video again for a fresh one');
      if (!(await access.exists(videoId.toLowerCase()))) throw notFound();
    } else if (!(await access.isPublic(videoId.toLowerCase()))) {
      // Private, unlisted or unfinished: only signed URLs reach it, and its existence is not revealed.
      throw notFound();
    }
    return `media/${videoId.toLowerCase()}/${rest.join('/')}`;
  };

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.headers(CORS_HEADERS);
    const key = await resolveKey(request);
    let info;
    try {
      info = await store.head(key);
    } catch (err) {
      if (err instanceof InvalidKeyError) throw videoErrors.MEDIA_NOT_FOUND('No such media');
      throw err;
    }
    if (!info) throw videoErrors.MEDIA_NOT_FOUND('No such media');
    reply.header('accept-ranges', 'bytes');
    reply.header('cache-control', cacheControlFor(key));
    reply.header('content-type', info.contentType ?? contentTypeFromKey(key));
    if (info.etag) reply.header('etag', info.etag);
    if (info.lastModified) reply.header('last-modified', info.lastModified.toUTCString());
    if (info.etag && request.headers['if-none-match'] === info.etag) return reply.code(304).send();

    const range = parseRange(request.headers.range, info.size);
    if (range === 'unsatisfiable') {
      throw videoErrors.RANGE_NOT_SATISFIABLE(`The object has ${info.size} bytes`, undefined, { 'content-range': `bytes */${info.size}` });
    }
    if (request.method === 'HEAD') {
      if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
      reply.header('content-length', range ? range.end - range.start + 1 : info.size);
      return reply.send();
    }
    try {
      const object = await store.get(key, range ? { range } : {});
      if (range) {
        reply.code(206).header('content-range', object.contentRange ?? `bytes ${range.start}-${range.end}/${object.size}`);
      }
      reply.header('content-length', object.contentLength);
      return reply.send(object.body);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw videoErrors.MEDIA_NOT_FOUND('No such media');
      if (err instanceof RangeNotSatisfiableError) {
        throw videoErrors.RANGE_NOT_SATISFIABLE(`The object has ${err.size} bytes`, undefined, { 'content-range': `bytes */${err.size}` });
      }
      throw err;
    }
  };

  app.route({ method: ['GET', 'HEAD'], url: '/media/*', config, schema: hidden, exposeHeadRoute: false, handler: serve });

  // Preflights of players on other origins (the gateway's CORS answers these itself with `mediaCors`).
  app.options('/media/*', { config, schema: hidden }, async (request, reply) => {
    const requested = request.headers['access-control-request-headers'];
    return reply
      .code(204)
      .headers({
        ...CORS_HEADERS,
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-allow-headers': typeof requested === 'string' ? requested : 'Range',
        'access-control-max-age': '86400',
      })
      .send();
  });
};
