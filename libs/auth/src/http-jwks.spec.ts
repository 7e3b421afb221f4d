import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { httpJwksFetcher } from './http-jwks.js';

// Both transports of the one fetcher (a base URL over fetch, a connection pool like the gateway's) against a
// loopback server, on the happy path and on every way the user service can fail it.
const KEYS = { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x', kid: 'k1' }] };
let server: Server;
let base: string;
let pool: Pool;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/.well-known/jwks.json' || path === '/other/jwks') return void res.setHeader('content-type', 'application/json').end(JSON.stringify(KEYS));
    if (path === '/down/.well-known/jwks.json') return void res.writeHead(503).end('unavailable');
    if (path === '/html/.well-known/jwks.json') return void res.setHeader('content-type', 'text/html').end('<html>');
    if (path === '/nokeys/.well-known/jwks.json') return void res.setHeader('content-type', 'application/json').end('{"keys":"no"}');
    if (path === '/null/.well-known/jwks.json') return void res.setHeader('content-type', 'application/json').end('null');
    if (path === '/slow/.well-known/jwks.json') return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pool = new Pool(base);
});

afterAll(async () => {
  await pool.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const transports = [
  ['a base URL', (prefix: string, timeoutMs?: number) => httpJwksFetcher(`${base}${prefix}/`, { path: '.well-known/jwks.json', ...(timeoutMs ? { timeoutMs } : {}) })],
  ['a connection pool', (prefix: string, timeoutMs?: number) => httpJwksFetcher(pool, { path: `${prefix}/.well-known/jwks.json`, ...(timeoutMs ? { timeoutMs } : {}) })],
] as const;

describe.each(transports)('httpJwksFetcher through %s', (_name, fetcherFor) => {
  it('returns the key set', async () => {
    await expect(fetcherFor('')()).resolves.toEqual(KEYS);
  });

  it('rejects a status other than 200 with the status', async () => {
    await expect(fetcherFor('/down')()).rejects.toThrow('JWKS answered 503');
    await expect(fetcherFor('/missing')()).rejects.toThrow('JWKS answered 404');
  });

  it('rejects a body that is not JSON', async () => {
    await expect(fetcherFor('/html')()).rejects.toThrow();
  });

  it('rejects JSON without a keys array', async () => {
    await expect(fetcherFor('/nokeys')()).rejects.toThrow('JWKS has no keys array');
    await expect(fetcherFor('/null')()).rejects.toThrow('JWKS has no keys array');
  });

  it('gives up after the timeout when the user service does not answer', async () => {
    const started = Date.now();
    await expect(fetcherFor('/slow', 200)()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('httpJwksFetcher defaults', () => {
  it('fetches /.well-known/jwks.json of the base URL, and takes another path', async () => {
    await expect(httpJwksFetcher(base)()).resolves.toEqual(KEYS);
    await expect(httpJwksFetcher(new URL(base), { path: '/other/jwks' })()).resolves.toEqual(KEYS);
    await expect(httpJwksFetcher(pool, { path: '/other/jwks' })()).resolves.toEqual(KEYS);
  });
});
