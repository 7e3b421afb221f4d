import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Principal } from '@kinora/contracts';
import { ACCEPTED_ALGORITHMS, JwksCache, KeysUnavailableError, type JwksCacheOptions } from './jwks.cache.js';

/** The audience of Kinora access tokens: the user service signs with it, every verifier checks it. */
export const ACCESS_TOKEN_AUDIENCE = 'kinora-api';

export interface TokenVerifierOptions extends JwksCacheOptions {
  issuer: string;
  audience: string;
  /** Accepted clock difference in seconds (default 5). */
  clockToleranceSec?: number;
}

export type TokenFailure = 'expired' | 'invalid';

export class TokenError extends Error {
  constructor(readonly reason: TokenFailure, message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

/** Verifies Kinora access tokens (asymmetric signature from the JWKS, issuer, audience, expiry). */
export class TokenVerifier {
  readonly jwks: JwksCache;
  constructor(private readonly opts: TokenVerifierOptions) {
    this.jwks = new JwksCache(opts);
  }

  /**
   * A token already known to be valid, answered without waiting (a verifying cache overrides this); `undefined`
   * means "call verify". The plain verifier knows nothing in advance.
   */
  peek(_token: string): (Principal & { claims: JWTPayload }) | undefined {
    return undefined;
  }

  /**
   * The token's principal; `TokenError` when the token is expired or invalid, `KeysUnavailableError` when it names a
   * key not known yet and the key set cannot be fetched.
   */
  async verify(token: string): Promise<Principal & { claims: JWTPayload }> {
    try {
      const { payload } = await jwtVerify(token, this.jwks.resolver, {
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        algorithms: [...ACCEPTED_ALGORITHMS],
        clockTolerance: this.opts.clockToleranceSec ?? 5,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      if (typeof payload.sub !== 'string' || typeof payload['name'] !== 'string' || typeof payload['sid'] !== 'string') {
        throw new TokenError('invalid', 'token lacks required claims');
      }
      return { userId: payload.sub, username: payload['name'], sessionId: payload['sid'], claims: payload };
    } catch (err) {
      // Neither valid nor invalid: the keys to check it with cannot be fetched now (the caller answers 503).
      if (err instanceof TokenError || err instanceof KeysUnavailableError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new TokenError('expired', 'The access token has expired');
      throw new TokenError('invalid', 'The access token is invalid');
    }
  }
}
