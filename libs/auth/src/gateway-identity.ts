import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Principal } from '@kinora/contracts';

/**
 * The header in which the gateway forwards the identity it verified to a service (docs/adr/0001-gateway-identity.md).
 * Clients can send it too: the gateway removes it from every incoming request, and services only believe it when
 * its HMAC verifies with the shared secret.
 */
export const GATEWAY_IDENTITY_HEADER = 'x-kinora-identity';

const VERSION = 'v1';
/** How long a signed identity is valid: long enough for one forwarded request, useless for replay later. */
const DEFAULT_TTL_SEC = 30;

interface IdentityClaims {
  sub: string;
  name: string;
  sid: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

function mac(secret: string, payload: string, method: string, url: string): Buffer {
  // Bound to the request line, so a captured header cannot be replayed against another route.
  return createHmac('sha256', secret).update(`${VERSION}.${payload}\n${method.toUpperCase()} ${url}`).digest();
}

/**
 * Signs the principal for one forwarded request: `v1.<base64url(claims)>.<base64url(HMAC-SHA256)>`, where the MAC
 * covers the claims, the method and the URL (path and query) the upstream will see.
 */
export function signGatewayIdentity(
  secret: string,
  principal: Principal,
  request: { method: string; url: string },
  opts: { ttlSec?: number; nowMs?: number } = {},
): string {
  const claims: IdentityClaims = {
    sub: principal.userId,
    name: principal.username,
    sid: principal.sessionId,
    exp: Math.floor((opts.nowMs ?? Date.now()) / 1000) + (opts.ttlSec ?? DEFAULT_TTL_SEC),
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${VERSION}.${payload}.${mac(secret, payload, request.method, request.url).toString('base64url')}`;
}

/**
 * Checks a forwarded identity: version, HMAC (constant-time), expiry and the request line. Returns the principal,
 * or null for anything that does not verify (the caller then treats the request as if the header were absent).
 */
export function verifyGatewayIdentity(
  secret: string,
  header: string,
  request: { method: string; url: string },
  opts: { nowMs?: number; clockToleranceSec?: number } = {},
): Principal | null {
  if (header.length > 2048) return null;
  const parts = header.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return null;
  const [, payload, signature] = parts as [string, string, string];
  const expected = mac(secret, payload, request.method, request.url);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let claims: Partial<IdentityClaims>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<IdentityClaims>;
  } catch {
    return null;
  }
  if (typeof claims.sub !== 'string' || typeof claims.name !== 'string' || typeof claims.sid !== 'string' || typeof claims.exp !== 'number') {
    return null;
  }
  const nowSec = (opts.nowMs ?? Date.now()) / 1000;
  if (claims.exp + (opts.clockToleranceSec ?? 5) < nowSec) return null;
  return { userId: claims.sub, username: claims.name, sessionId: claims.sid };
}
