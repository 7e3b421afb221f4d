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

/**
 * Caches a JWKS, refreshing it when it is old or when a token names an unknown `kid` (rate-limited, so a flood of
 * forged kids cannot turn into a flood of fetches). Only asymmetric algorithms are accepted.
 */
export class JwksCache {
  private keys = new Map<string, { jwk: JWK; key?: CryptoKey | Uint8Array }>();
  private fetchedAt = 0;
  private inflight: Promise<void> | undefined;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  /** Number of fetches done (exposed for tests and metrics). */
  fetches = 0;

  constructor(private readonly opts: JwksCacheOptions) {
    this.cooldownMs = opts.cooldownMs ?? 30_000;
    this.maxAgeMs = opts.maxAgeMs ?? 600_000;
  }

  /** A jose key resolver for `jwtVerify(token, cache.resolver)`. */
  readonly resolver = async (header: JWSHeaderParameters): Promise<CryptoKey | Uint8Array> => {
    const kid = header.kid;
    if (!kid) throw new Error('token has no kid');
    if (!header.alg || !(ACCEPTED_ALGORITHMS as readonly string[]).includes(header.alg)) throw new Error(`algorithm ${header.alg} not accepted`);
    const now = Date.now();
    if (this.fetchedAt === 0 || now - this.fetchedAt > this.maxAgeMs || (!this.keys.has(kid) && now - this.fetchedAt > this.cooldownMs)) {
      await this.refresh();
    }
    const entry = this.keys.get(kid);
    if (!entry) throw new Error('unknown signing key');
    if (entry.jwk.alg && entry.jwk.alg !== header.alg) throw new Error('algorithm does not match the key');
    entry.key ??= await importJWK(entry.jwk, header.alg);
    return entry.key;
  };

  async refresh(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        const set = await this.opts.fetchJwks();
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
