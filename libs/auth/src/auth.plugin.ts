import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal } from '@kinora/contracts';
import { commonErrors, defineErrors } from '@kinora/http';
import { GATEWAY_IDENTITY_HEADER, verifyGatewayIdentity } from './gateway-identity.js';
import { KeysUnavailableError } from './jwks.cache.js';
import { TokenError, type TokenVerifier } from './token.verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user, or null for anonymous requests. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** preHandler that answers 401 unless the request carries a valid access token. */
    requireUser: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    tokenVerifier: TokenVerifier;
  }
}

export const authErrors = defineErrors({
  INVALID_TOKEN: { status: 401, title: 'Invalid access token' },
  TOKEN_EXPIRED: { status: 401, title: 'Access token expired' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
});

const BEARER = /^Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)$/;
const WWW_AUTH = 'Bearer realm="kinora"';

export interface AuthPluginOptions {
  verifier: TokenVerifier;
  onPrincipal?: (request: FastifyRequest, p: Principal) => void;
  /**
   * For a service behind the gateway: believe the identity the gateway forwards in `x-kinora-identity` when its
   * HMAC verifies with this shared secret (docs/adr/0001-gateway-identity.md), instead of verifying the JWT again.
   * A header that does not verify is ignored (the bearer token, if any, decides).
   */
  gatewayIdentity?: { secret: string };
}

/**
 * Authenticates every request that carries `Authorization: Bearer …` (an invalid or expired token is a 401 even on
 * public routes, so clients notice), sets `request.principal`, and provides `app.requireUser` for protected routes.
 */
export const authPlugin = fp(
  async function auth(app: FastifyInstance, opts: AuthPluginOptions) {
    app.decorate('tokenVerifier', opts.verifier);
    app.decorateRequest('principal', null);
    const identitySecret = opts.gatewayIdentity?.secret;
    // A request with a token or the gateway's identity is a user's: never answered early (libs/observability).
    const early = (app as { earlyGets?: { passOn(header: string): void } }).earlyGets;
    early?.passOn('authorization');
    early?.passOn(GATEWAY_IDENTITY_HEADER);
    const tokenFailure = (err: unknown, request: FastifyRequest): Error => {
      if (err instanceof KeysUnavailableError) {
        // Not the client's fault and not a verdict on the token: retry once the key source answers again.
        request.log.warn({ err: err.message }, 'an access token names a signing key that cannot be fetched now');
        return commonErrors.SERVICE_UNAVAILABLE('The access token cannot be checked right now; retry shortly', undefined, { 'retry-after': '1' });
      }
      if (err instanceof TokenError && err.reason === 'expired') {
        return authErrors.TOKEN_EXPIRED(err.message, undefined, { 'www-authenticate': `${WWW_AUTH}, error="invalid_token"` });
      }
      return authErrors.INVALID_TOKEN('The access token is invalid', undefined, { 'www-authenticate': `${WWW_AUTH}, error="invalid_token"` });
    };
    const accept = (request: FastifyRequest, p: Principal): void => {
      request.principal = { userId: p.userId, username: p.username, sessionId: p.sessionId };
      opts.onPrincipal?.(request, request.principal);
    };
    // Callback style, so that the common cases (no token, a token the verifier already knows) finish without a
    // promise or a microtask turn: this hook runs on every request.
    app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
      try {
        if (identitySecret !== undefined) {
          const forwarded = request.headers[GATEWAY_IDENTITY_HEADER];
          if (typeof forwarded === 'string') {
            const p = verifyGatewayIdentity(identitySecret, forwarded, { method: request.method, url: request.url });
            if (p) {
              accept(request, p);
              done();
              return;
            }
            request.log.warn('ignoring an x-kinora-identity header that does not verify');
          }
        }
        const header = request.headers.authorization;
        if (header === undefined) {
          done();
          return;
        }
        const m = BEARER.exec(header);
        if (!m) {
          done(authErrors.INVALID_TOKEN('Use Authorization: Bearer <access token>', undefined, { 'www-authenticate': WWW_AUTH }));
          return;
        }
        const token = m[1]!;
        const known = opts.verifier.peek(token);
        if (known) {
          accept(request, known);
          done();
          return;
        }
        opts.verifier.verify(token).then(
          (p) => {
            try {
              accept(request, p);
              done();
            } catch (err) {
              done(err as Error);
            }
          },
          (err: unknown) => done(tokenFailure(err, request)),
        );
      } catch (err) {
        done(err as Error);
      }
    });
    app.decorate('requireUser', async function requireUser(request: FastifyRequest) {
      if (!request.principal) {
        throw authErrors.UNAUTHENTICATED('Sign in and send Authorization: Bearer <access token>', undefined, { 'www-authenticate': WWW_AUTH });
      }
    });
  },
  { name: '@kinora/auth', fastify: '5.x' },
);
