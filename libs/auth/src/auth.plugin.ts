import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal } from '@kinora/contracts';
import { defineErrors } from '@kinora/http';
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

/**
 * Authenticates every request that carries `Authorization: Bearer …` (an invalid or expired token is a 401 even on
 * public routes, so clients notice), sets `request.principal`, and provides `app.requireUser` for protected routes.
 */
export const authPlugin = fp(
  async function auth(app: FastifyInstance, opts: { verifier: TokenVerifier; onPrincipal?: (request: FastifyRequest, p: Principal) => void }) {
    app.decorate('tokenVerifier', opts.verifier);
    app.decorateRequest('principal', null);
    app.addHook('onRequest', async (request) => {
      const header = request.headers.authorization;
      if (header === undefined) return;
      const m = BEARER.exec(header);
      if (!m) throw authErrors.INVALID_TOKEN('Use Authorization: Bearer <access token>', undefined, { 'www-authenticate': WWW_AUTH });
      try {
        const p = await opts.verifier.verify(m[1]!);
        request.principal = { userId: p.userId, username: p.username, sessionId: p.sessionId };
        opts.onPrincipal?.(request, request.principal);
      } catch (err) {
        if (err instanceof TokenError && err.reason === 'expired') {
          throw authErrors.TOKEN_EXPIRED(err.message, undefined, { 'www-authenticate': `${WWW_AUTH}, error="invalid_token"` });
        }
        throw authErrors.INVALID_TOKEN('The access token is invalid', undefined, { 'www-authenticate': `${WWW_AUTH}, error="invalid_token"` });
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
