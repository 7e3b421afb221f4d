import type { JSONWebKeySet } from 'jose';

/**
 * The part of an undici `Pool`/`Dispatcher` the fetcher uses: the gateway already holds a keep-alive pool to the
 * user service and fetches the keys through it (same connection limits, no second connection set).
 */
export interface JwksRequester {
  request(opts: {
    method: 'GET';
    path: string;
    headers: Record<string, string>;
    headersTimeout: number;
    bodyTimeout: number;
    signal: AbortSignal;
  }): Promise<{ statusCode: number; body: { dump(): Promise<unknown>; json(): Promise<unknown> } }>;
}

export interface HttpJwksFetcherOptions {
  /** Default `/.well-known/jwks.json`. */
  path?: string;
  /** Whole request, headers and body (default 2 s). */
  timeoutMs?: number;
}

/**
 * Fetches the user service's public keys over HTTP, for the `fetchJwks` of a {@link TokenVerifier}: from a base
 * URL (global `fetch`; standalone services, realtime) or through a connection pool (`JwksRequester`; the gateway).
 * Bounded in time: a slow user service must not hold the authentication of every request. Rejects on a status
 * other than 200, a body that is not JSON, or a JSON value without a `keys` array.
 */
export function httpJwksFetcher(source: string | URL | JwksRequester, options: HttpJwksFetcherOptions = {}): () => Promise<JSONWebKeySet> {
  const path = options.path ?? '/.well-known/jwks.json';
  const timeoutMs = options.timeoutMs ?? 2_000;
  const get = typeof source === 'string' || source instanceof URL ? viaFetch(new URL(path, source), timeoutMs) : viaPool(source, path, timeoutMs);
  return async () => {
    const set = (await get()) as JSONWebKeySet | null;
    if (!set || !Array.isArray(set.keys)) throw new Error('JWKS has no keys array');
    return set;
  };
}

function viaFetch(url: URL, timeoutMs: number): () => Promise<unknown> {
  return async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`JWKS answered ${res.status}`);
    }
    return res.json();
  };
}

function viaPool(pool: JwksRequester, path: string, timeoutMs: number): () => Promise<unknown> {
  return async () => {
    const res = await pool.request({
      method: 'GET',
      path,
      headers: { accept: 'application/json' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`JWKS answered ${res.statusCode}`);
    }
    return res.body.json();
  };
}
