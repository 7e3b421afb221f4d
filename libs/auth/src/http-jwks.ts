import type { JSONWebKeySet } from 'jose';

/**
 * Fetches the user service's public keys over HTTP, bounded in time: what a standalone service gives its
 * {@link TokenVerifier} (`fetchJwks`) to check bearer tokens itself.
 */
export function httpJwksFetcher(baseUrl: string, path = '/.well-known/jwks.json', timeoutMs = 2_000): () => Promise<JSONWebKeySet> {
  const url = new URL(path, baseUrl);
  return async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`JWKS answered ${res.status}`);
    }
    const set = (await res.json()) as JSONWebKeySet;
    if (!set || !Array.isArray(set.keys)) throw new Error('JWKS has no keys array');
    return set;
  };
}
