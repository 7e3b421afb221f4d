import type { UpstreamService } from '@kinora/config';
import type { RateLimitTierName } from '@kinora/http';
import type { RouteClass } from '@kinora/resilience';

/**
 * Which service owns a path. `:name` matches one segment; a trailing `/*` matches the prefix itself and everything
 * under it. The first matching rule wins, so specific rules come before the prefixes they carve out of.
 */
export interface OwnerRule {
  path: string;
  upstream: UpstreamService | (string & {});
}

/** Ownership of the contract's paths (spec/api.md), following the services table of the architecture. */
export const DEFAULT_ROUTE_OWNERS: readonly OwnerRule[] = [
  { path: '/.well-known/jwks.json', upstream: 'user' },
  { path: '/api/v1/auth/*', upstream: 'user' },
  { path: '/api/v1/users/me/subscriptions', upstream: 'subscription' },
  { path: '/api/v1/users/me/videos', upstream: 'video' },
  { path: '/api/v1/users/*', upstream: 'user' },
  { path: '/api/v1/channels/:id/subscription', upstream: 'subscription' },
  { path: '/api/v1/channels/:id/videos', upstream: 'video' },
  { path: '/api/v1/channels/*', upstream: 'user' },
  { path: '/api/v1/feed/subscriptions', upstream: 'subscription' },
  { path: '/api/v1/feed/*', upstream: 'recommendation' },
  { path: '/api/v1/notifications/*', upstream: 'subscription' },
  { path: '/api/v1/videos/:id/rating', upstream: 'like' },
  { path: '/api/v1/videos/:id/views', upstream: 'analytics' },
  { path: '/api/v1/videos/:id/analytics', upstream: 'analytics' },
  { path: '/api/v1/videos/:id/related', upstream: 'recommendation' },
  { path: '/api/v1/videos/:id/comments', upstream: 'comment' },
  { path: '/api/v1/videos/:id/chat', upstream: 'realtime' },
  { path: '/api/v1/chat/*', upstream: 'realtime' },
  { path: '/api/v1/comments/*', upstream: 'comment' },
  { path: '/api/v1/videos/*', upstream: 'video' },
  { path: '/api/v1/uploads/*', upstream: 'video' },
  { path: '/api/v1/search', upstream: 'video' },
  { path: '/media/*', upstream: 'video' },
];

function ruleRegExp(path: string): RegExp {
  const wildcard = path.endsWith('/*');
  const base = wildcard ? path.slice(0, -2) : path;
  const body = base
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}${wildcard ? '(?:/.*)?' : '/?'}$`);
}

/** Finds the owner of a concrete path (`/api/v1/channels/123`) or of a route template (`/api/v1/channels/:id`). */
export class RouteTable {
  private readonly rules: ReadonlyArray<{ re: RegExp; upstream: string }>;

  constructor(rules: readonly OwnerRule[] = DEFAULT_ROUTE_OWNERS) {
    this.rules = rules.map((r) => ({ re: ruleRegExp(r.path), upstream: r.upstream }));
  }

  ownerOf(pathOrTemplate: string): string | undefined {
    const path = stripQuery(pathOrTemplate);
    for (const r of this.rules) if (r.re.test(path)) return r.upstream;
    return undefined;
  }

  /** Every upstream named by a rule. */
  upstreams(): string[] {
    return [...new Set(this.rules.map((r) => r.upstream))];
  }
}

export function stripQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

const UPLOAD_PATH = /^\/api\/v1\/uploads(?:\/|$)/;

/** The timeout class of a request: reads, writes, or uploads (tus requests that carry media). */
export function routeClassOf(method: string, path: string): RouteClass {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return 'read';
  if (UPLOAD_PATH.test(path)) return 'upload';
  return 'write';
}

/** Methods whose requests may be sent twice without a second effect (retried after a failure). */
export function isIdempotentRead(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

const UNCOUNTED = /^\/(?:healthz|readyz|metrics|media\/.*|api\/v1\/openapi\.json)$/;
const AUTH_TIER = /^\/api\/v1\/auth\/(?:register|login|refresh)\/?$/;
const UPLOAD_CREATION = /^\/api\/v1\/uploads\/?$/;

/**
 * The rate-limit tier of a route that does not declare one (`config.rateLimitTier`): the contract's defaults.
 * Health, metrics, the OpenAPI document and media are not counted; register/login/refresh share the auth budget;
 * creating an upload spends the upload budget, and the tus requests that carry its bytes are not counted (one
 * upload is many PATCHes).
 */
export function defaultTierOf(method: string, path: string): RateLimitTierName {
  const p = stripQuery(path);
  if (method === 'OPTIONS' || UNCOUNTED.test(p)) return 'none';
  if (method === 'POST' && AUTH_TIER.test(p)) return 'auth';
  if (method === 'POST' && UPLOAD_CREATION.test(p)) return 'upload';
  if (UPLOAD_PATH.test(p)) return 'none';
  return 'general';
}
