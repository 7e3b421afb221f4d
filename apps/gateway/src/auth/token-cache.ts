import type { TokenVerifier } from '@kinora/auth';
import { TtlLru } from '@kinora/resilience';

export interface TokenCacheOptions {
  /** How many verified tokens are remembered (least recently used go first). Default 10,000. */
  maxEntries?: number;
  /**
   * Upper bound on how long a verification is reused (ms), whatever the token's own expiry: a signing key that is
   * withdrawn from the JWKS stops being honoured through the cache after this long. Default 60 s.
   */
  maxAgeMs?: number;
}

/**
 * Wraps a verifier so that a token that verified once is not verified again until it expires (or `maxAgeMs`).
 * Signature checks (Ed25519 in WebCrypto) cost ~100 µs each and were the gateway's main cost per request.
 *
 * The key is the whole token, not only its signature: a client could otherwise pair a cached signature with a
 * payload of its own. Only successes are cached, so a bad token is checked (and rejected) every time.
 */
export function cacheVerifiedTokens(verifier: TokenVerifier, opts: TokenCacheOptions = {}): TokenVerifier {
  type Verified = Awaited<ReturnType<TokenVerifier['verify']>>;
  // First-in first-out is enough here (every entry expires within maxAgeMs anyway) and keeps a hit to one lookup.
  const cache = new TtlLru<string, Verified>(opts.maxEntries ?? 10_000, Number.POSITIVE_INFINITY, Date.now, false);
  const maxAgeMs = opts.maxAgeMs ?? 60_000;
  const cached = Object.create(verifier) as TokenVerifier;
  cached.peek = (token: string): Verified | undefined => cache.get(token);
  cached.verify = async (token: string): Promise<Verified> => {
    const hit = cache.get(token);
    if (hit) return hit;
    const verified = await verifier.verify(token);
    const exp = typeof verified.claims.exp === 'number' ? verified.claims.exp * 1000 : 0;
    cache.set(token, verified, Math.min(exp - Date.now(), maxAgeMs));
    return verified;
  };
  return cached;
}
