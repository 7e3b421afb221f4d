import type { IncomingMessage, ServerResponse } from 'node:http';
import { etagMatches, type HeldBody } from '@kinora/http';
import type { Histogram } from 'prom-client';
import type { Logger } from './logger.js';

export interface EarlyGet {
  /** The path up to the one segment `read` gets, e.g. `/api/v1/videos/`. */
  prefix: string;
  /** The route it stands for (the metrics' `route` label), e.g. `/api/v1/videos/:id`. */
  route: string;
  /** The `Cache-Control` and `Vary` of its anonymous 200 answers (what the route's HTTP caching would set). */
  cacheControl: string;
  vary?: string;
  /**
   * The anonymous answer for the last segment of the path, at once from memory, or undefined to leave the request
   * to the route (not held, not public, not a valid id, …). Never loads, never throws.
   */
  read(segment: string): HeldBody | undefined;
}

/**
 * Anonymous GETs of held public resources answered before Fastify routes them: the hottest reads of a video site
 * (a video's page, by every viewer) cost a bare Node answer instead of the route's full request cycle. The route
 * stays the definition: an early answer is the one its route gives, the same status, body and headers (request id,
 * `nosniff`, `ETag`, `Cache-Control`, `Vary`, `304` on a matching `If-None-Match`), and is counted in the same
 * request-duration histogram.
 *
 * Everything else takes the full path: other methods, a query string, encoded or extra path segments, requests
 * with a header a plugin declared per-request meaning for (`passOn`: a token, the gateway's identity, a
 * read-your-writes position), every request while per-request logs (`info`) are on (Fastify writes them), and every
 * request once the app is closing (Fastify answers those 503). A process whose app enforces something per request
 * that an early answer would skip (the gateway's rate limits) calls `refuse` so that no early reader is registered.
 */
export class EarlyGets {
  /** The readers, each with its histogram labels. */
  private readonly gets: { get: EarlyGet; ok: Record<string, string>; notModified: Record<string, string> }[] = [];
  private readonly passHeaders: string[] = [];
  private refusedBy: string | undefined;
  private histogram: Histogram<'method' | 'route' | 'status_code'> | undefined;
  private logger: Pick<Logger, 'isLevelEnabled'> | undefined;
  private genId: ((req: IncomingMessage) => string) | undefined;
  private closing = false;

  /** Registers an early reader (see the class); throws once `refuse` was called. */
  add(get: EarlyGet): void {
    if (this.refusedBy !== undefined) throw new Error(`no early answers in this app (${this.refusedBy}): ${get.route} must take the full path`);
    if (!get.prefix.startsWith('/') || !get.prefix.endsWith('/')) throw new Error(`an early GET prefix starts and ends with '/': ${get.prefix}`);
    this.gets.push({ get, ok: { method: 'GET', route: get.route, status_code: '200' }, notModified: { method: 'GET', route: get.route, status_code: '304' } });
  }

  /** Requests that carry `header` (lower case) take the full path: a plugin gives it a meaning per request. */
  passOn(header: string): void {
    const h = header.toLowerCase();
    if (!this.passHeaders.includes(h)) this.passHeaders.push(h);
  }

  /** No early answers in this app from now on: `reason` says what every request must go through. */
  refuse(reason: string): void {
    if (this.gets.length > 0) throw new Error(`${reason}, but early GETs are registered (${this.gets.map((g) => g.get.route).join(', ')})`);
    this.refusedBy = reason;
  }

  /** Set by the observability plugin: what an answer reports to, and how requests are named. */
  attach(opts: { histogram: Histogram<'method' | 'route' | 'status_code'>; logger: Pick<Logger, 'isLevelEnabled'>; genReqId(req: IncomingMessage): string }): void {
    this.histogram = opts.histogram;
    this.logger = opts.logger;
    this.genId = opts.genReqId;
  }

  /** The app is closing: everything goes to Fastify (which answers 503). */
  close(): void {
    this.closing = true;
  }

  get size(): number {
    return this.gets.length;
  }

  /** Answers `req` when it is an early GET of a held resource; false leaves it to Fastify untouched. */
  answer(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.gets.length === 0 || req.method !== 'GET' || this.closing || this.genId === undefined) return false;
    const url = req.url;
    if (url === undefined) return false;
    let entry: (typeof this.gets)[number] | undefined;
    for (const g of this.gets) {
      if (url.startsWith(g.get.prefix)) {
        entry = g;
        break;
      }
    }
    if (entry === undefined) return false;
    const get = entry.get;
    const start = performance.now();
    const segment = url.slice(get.prefix.length);
    if (segment.length === 0 || !PLAIN_SEGMENT.test(segment)) return false;
    const headers = req.headers;
    for (const h of this.passHeaders) if (headers[h] !== undefined) return false;
    if (this.logger?.isLevelEnabled('info')) return false;
    const held = get.read(segment);
    if (held === undefined) return false;
    const id = this.genId(req);
    const ifNoneMatch = headers['if-none-match'];
    const notModified = ifNoneMatch !== undefined && etagMatches(ifNoneMatch, held.etag);
    if (notModified) {
      const h = ['x-request-id', id, 'x-content-type-options', 'nosniff', 'etag', held.etag, 'cache-control', get.cacheControl];
      if (get.vary !== undefined) h.push('vary', get.vary);
      // What Fastify sends with the route's 304 (an empty payload).
      h.push('content-length', '0');
      res.writeHead(304, h);
      res.end();
    } else {
      const h = ['x-request-id', id, 'x-content-type-options', 'nosniff', 'etag', held.etag, 'content-type', JSON_TYPE, 'cache-control', get.cacheControl];
      if (get.vary !== undefined) h.push('vary', get.vary);
      h.push('content-length', String(held.bytes));
      res.writeHead(200, h);
      res.end(held.body);
    }
    this.histogram?.observe(notModified ? entry.notModified : entry.ok, (performance.now() - start) / 1000);
    return true;
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** One path segment without encoding, query or fragment: what the route would see unchanged as its parameter. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]+$/;
