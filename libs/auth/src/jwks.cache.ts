import { importJWK, type JSONWebKeySet, type JWK, type JWSHeaderParameters, type CryptoKey } from 'jose';

export interface JwksCacheOptions {
  /** Where the key set comes from: an HTTP fetch of the JWKS in cluster mode, an in-process call when embedded. */
  fetchJwks: () => Promise<JSONWebKeySet>;
  /** Keys are refetched at most this often when an unknown `kid` shows up (default 30 s). */
  cooldownMs?: number;
  /** Keys are refreshed after this age even when every `kid` is known (default 10 min). */
  maxAgeMs?: number;
}

export const ACCEPTED_ALGORITHMS = ['EdDSA', 'ES256'] as const;

/** How old a verifier's copy of the JWKS may get before it is fetched again (the default of `maxAgeMs`). */
export const JWKS_MAX_AGE_MS = 600_000;

/**
 * The key set could not be fetched and the token names a key not known yet: nothing says whether the token is
 * valid. Not the client's fault (a 503, not a 401).
 */
export class KeysUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the signing keys cannot be fetched: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'KeysUnavailableError';
  }
}

/** After a failed fetch, no new attempt for this long (ms) unless `cooldownMs` is longer. */
const RETRY_AFTER_FAILURE_MS = 1000;

/**
 * Caches a JWKS, refreshing it when it is old or when a token names an unknown `kid` (rate-limited, so a flood of
 * forged kids cannot turn into a flood of fetches). Only asymmetric algorithms are accepted. When a refresh fails
 * (the key source is down), the keys already known stay in use (a key is only ever removed by a successful fetch
 * that no longer lists it); a token naming an unknown key then fails with {@link KeysUnavailableError}. Failed
 * fetches are retried at most every second (or `cooldownMs`).
 */
export class JwksCache {
  private keys = new Map<string, { jwk: JWK; key?: CryptoKey | Uint8Array }>();
  private fetchedAt = 0;
  /** When the last fetch failed (0: the last one succeeded). */
  private failedAt = 0;
  private inflight: Promise<void> | undefined;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private lastFailure: unknown;
  /** Number of fetches done (exposed for tests and metrics). */
  fetches = 0;

  constructor(private readonly opts: JwksCacheOptions) {
    this.cooldownMs = opts.cooldownMs ?? 30_000;
    this.maxAgeMs = opts.maxAgeMs ?? JWKS_MAX_AGE_MS;
  }

  /** A jose key resolver for `jwtVerify(token, cache.resolver)`. */
  readonly resolver = async (header: JWSHeaderParameters): Promise<CryptoKey | Uint8Array> => {
    const kid = header.kid;
    if (!kid) throw new Error('token has no kid');
    if (!header.alg || !(ACCEPTED_ALGORITHMS as readonly string[]).includes(header.alg)) throw new Error(`algorithm ${header.alg} not accepted`);
    const now = Date.now();
    const due = this.fetchedAt === 0 || now - this.fetchedAt > this.maxAgeMs || (!this.keys.has(kid) && now - this.fetchedAt > this.cooldownMs);
    let failure: unknown;
    if (due) {
      if (this.failedAt !== 0 && now - this.failedAt < Math.max(RETRY_AFTER_FAILURE_MS, this.cooldownMs)) failure = this.lastFailure;
      else
        try {
          await this.refresh();
        } catch (err) {
          failure = err;
        }
    }
    const entry = this.keys.get(kid);
    if (!entry) {
      if (failure !== undefined) throw new KeysUnavailableError(failure);
      throw new Error('unknown signing key');
    }
    if (entry.jwk.alg && entry.jwk.alg !== header.alg) throw new Error('algorithm does not match the key');
    entry.key ??= await importJWK(entry.jwk, header.alg);
    return entry.key;
  };

  async refresh(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        let set: JSONWebKeySet;
        try {
          set = await this.opts.fetchJwks();
        } catch (err) {
          this.failedAt = Date.now();
          this.lastFailure = err;
          throw err;
        }
        this.failedAt = 0;
        this.lastFailure = undefined;
        this.fetches++;
        const next = new Map<string, { jwk: JWK; key?: CryptoKey | Uint8Array }>();
        for (const jwk of set.keys ?? []) {
          if (!jwk.kid || jwk.kty === 'oct' || 'd' in jwk) continue; // never accept symmetric or private keys
          next.set(jwk.kid, this.keys.get(jwk.kid)?.jwk.x === jwk.x ? this.keys.get(jwk.kid)! : { jwk });
        }
        this.keys = next;
        this.fetchedAt = Date.now();
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
