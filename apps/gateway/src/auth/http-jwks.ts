import type { JSONWebKeySet } from 'jose';
import type { Pool } from 'undici';

/**
 * Fetches the user service's public keys over HTTP (cluster mode), for the JwksCache of the gateway's verifier.
 * Bounded in time: a slow user service must not hold authentication of every request.
 */
export function httpJwksFetcher(pool: Pool, path = '/.well-known/jwks.json', timeoutMs = 2_000): () => Promise<JSONWebKeySet> {
  return async () => {
    const res = await pool.request({ method: 'GET', path, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`JWKS answered ${res.statusCode}`);
    }
    const set = (await res.body.json()) as JSONWebKeySet;
    if (!set || !Array.isArray(set.keys)) throw new Error('JWKS has no keys array');
    return set;
  };
}
