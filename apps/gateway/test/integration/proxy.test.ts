import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { verifyGatewayIdentity } from '@kinora/auth';
import { loadConfig } from '@kinora/config';
import { createLogger } from '@kinora/observability';
import { waitUntil } from '@kinora/testing';
import { buildGateway } from '../../src/app.js';
import {
  call,
  fixtureControl,
  fixtureStats,
  IDENTITY_SECRET,
  ISSUER,
  makeKeys,
  metricValue,
  startFixture,
  tamperedToken,
  unsignedToken,
  type RunningProcess,
  type TestKeys,
} from './helpers.js';

// Cluster mode against a real upstream process (test/fixtures/upstream.mjs), which plays the user service (JWKS)
// and the video service (routes with schemas, a slow search, an echo of what it received).
let keys: TestKeys;
let upstream: RunningProcess;
let gateway: FastifyInstance;
let base: string;

const READ_TIMEOUT_MS = 300;

beforeAll(async () => {
  keys = await makeKeys();
  upstream = await startFixture(keys.jwks);
  const config = loadConfig({
    PUBLIC_URL: ISSUER,
    USER_SERVICE_URL: upstream.url,
    VIDEO_SERVICE_URL: upstream.url,
    GATEWAY_IDENTITY_SECRET: IDENTITY_SECRET,
    RATE_LIMIT_GENERAL: 'off',
    RATE_LIMIT_AUTH: 'off',
    UPSTREAM_TIMEOUT_READ_MS: String(READ_TIMEOUT_MS),
    UPSTREAM_RETRIES: '2',
    BREAKER_FAILURE_THRESHOLD: '1000',
    UPSTREAM_MAX_CONCURRENCY: '4',
    UPSTREAM_MAX_QUEUE: '0',
    BODY_LIMIT_BYTES: '2048',
    UPSTREAM_DISCOVERY_TIMEOUT_MS: '5000',
  });
  gateway = await buildGateway(config, { logger: createLogger({ level: 'silent' }) });
  await gateway.listen({ port: 0, host: '127.0.0.1' });
  const addr = gateway.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.stop();
});

const bearer = async (sub = 'user-1') => ({ authorization: `Bearer ${await keys.token({ sub, name: `name-${sub}`, sid: `sid-${sub}` })}` });

function expectProblem(r: { status: number; headers: Headers; body: any }, status: number, code?: string): any {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toEqual(expect.objectContaining({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) }));
  if (code) expect(r.body.code).toBe(code);
  expect(JSON.stringify(r.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|at .+\.(ts|js):\d+/);
  return r.body;
}

describe('validation at the gateway (schemas from the upstream OpenAPI document)', () => {
  it('answers 400 with field errors before the upstream sees the request', async () => {
    const before = await fixtureStats(upstream.url);
    const auth = await bearer();
    const bad = await call(`${base}/api/v1/videos`, { method: 'POST', headers: auth, body: { title: '' } });
    const p = expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(p.errors).toEqual([expect.objectContaining({ field: '/body/title' })]);
    expectProblem(await call(`${base}/api/v1/videos`, { method: 'POST', headers: auth, body: { title: 'x'.repeat(101) } }), 400);
    expectProblem(await call(`${base}/api/v1/videos`, { method: 'POST', headers: auth, body: {} }), 400);
    const q = expectProblem(await call(`${base}/api/v1/videos?limit=1000`), 400);
    expect(q.errors[0].field).toBe('/query/limit');
    expectProblem(await call(`${base}/api/v1/videos?sort=random`), 400);
    expectProblem(await call(`${base}/api/v1/videos/${'a'.repeat(65)}`), 400);
    expectProblem(await call(`${base}/api/v1/search`), 400);
    expectProblem(await call(`${base}/api/v1/videos`, { method: 'POST', headers: auth, body: '{"title": ' }), 400, 'MALFORMED_BODY');
    expectProblem(await call(`${base}/api/v1/videos`, { method: 'POST', headers: auth, body: { title: 't', description: 'd'.repeat(3000) } }), 413, 'PAYLOAD_TOO_LARGE');
    expectProblem(await call(`${base}/api/v1/videos`, { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'hello' }), 415);
    const after = await fixtureStats(upstream.url);
    expect(after.requests).toBe(before.requests);
  });

  it('forwards valid requests with the values the schemas coerced, and the answer unchanged', async () => {
    const r = await call(`${base}/api/v1/videos?limit=5&sort=recent`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ items: [], nextCursor: null, query: { limit: '5', sort: 'recent' } });
    const created = await call(`${base}/api/v1/videos`, { method: 'POST', headers: await bearer(), body: { title: 'Hello', description: 'world' } });
    expect(created.status).toBe(201);
    expect(created.body.received).toEqual({ title: 'Hello', description: 'world' });
    expect(created.headers.get('x-request-id')).toEqual(expect.any(String));
    expect(created.body.headers['x-request-id']).toBe(created.headers.get('x-request-id'));
  });

  it('publishes an OpenAPI 3.1 document with every upstream operation', async () => {
    const r = await call(`${base}/api/v1/openapi.json`);
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    const ops = Object.entries(r.body.paths as Record<string, Record<string, unknown>>).flatMap(([p, m]) => Object.keys(m).map((k) => `${k.toUpperCase()} ${p}`));
    expect(ops).toEqual(expect.arrayContaining(['GET /api/v1/videos', 'POST /api/v1/videos', 'GET /api/v1/videos/{id}', 'GET /api/v1/search', 'GET /.well-known/jwks.json']));
    expect(r.body.paths['/api/v1/videos'].post.requestBody.content['application/json'].schema.properties.title).toEqual({ type: 'string', minLength: 1, maxLength: 100 });
    expect(r.body.paths['/api/v1/videos'].post.security).toEqual([{ bearerAuth: [] }]);
    // Catch-alls are not part of the contract.
    expect(Object.keys(r.body.paths).some((p) => p.includes('*'))).toBe(false);
  });

  it('streams tus upload bytes through to the upload service unchanged, with the tus headers both ways', async () => {
    const { createHash, randomBytes } = await import('node:crypto');
    const chunk = randomBytes(3 * 1024 * 1024 + 17); // far larger than the 2 KB JSON body limit: raw bodies are streamed, not parsed
    const res = await fetch(`${base}/api/v1/uploads/u-123`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': '1024', 'tus-resumable': '1.0.0' },
      body: chunk,
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('upload-offset')).toBe(String(1024 + chunk.length));
    expect(res.headers.get('tus-resumable')).toBe('1.0.0');
    const stats = (await (await fetch(`${upstream.url}/__stats`)).json()) as { lastUpload: Record<string, unknown> };
    expect(stats.lastUpload).toEqual({ length: chunk.length, sha256: createHash('sha256').update(chunk).digest('hex'), offset: '1024', tusResumable: '1.0.0' });
  });

  it('forwards paths an upstream did not declare by prefix, and answers 404 for paths nobody owns', async () => {
    const r = await call(`${base}/api/v1/uploads/abc`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ undeclared: true, method: 'GET' });
    expectProblem(await call(`${base}/api/v1/nothing-here`), 404, 'NOT_FOUND');
    // A service that is not configured (comments) is not reachable either.
    expectProblem(await call(`${base}/api/v1/comments/c1/replies`), 404, 'NOT_FOUND');
  });
});

describe('identity forwarded to upstreams', () => {
  const forged = {
    'x-kinora-identity': 'v1.eyJzdWIiOiJhZG1pbiJ9.AAAA',
    'x-user-id': 'admin',
    'x-forwarded-user': 'admin',
    'x-auth-user': 'admin',
    'x-kinora-user-id': 'admin',
    'remote-user': 'admin',
    'x-forwarded-for': '203.0.113.9',
  };

  it('drops identity headers a client sends on anonymous requests', async () => {
    const r = await call(`${base}/api/v1/videos/echo1`, { headers: forged });
    expect(r.status).toBe(200);
    const seen = r.body.headers as Record<string, string>;
    for (const h of ['x-kinora-identity', 'x-user-id', 'x-forwarded-user', 'x-auth-user', 'x-kinora-user-id', 'remote-user']) expect(seen[h]).toBeUndefined();
    // Not a trusted proxy: the client's own X-Forwarded-For is replaced by its address.
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('sends the verified user as a signed header that services can check, whatever the client claimed', async () => {
    const r = await call(`${base}/api/v1/videos/echo2?x=1`, { headers: { ...forged, ...(await bearer('user-42')) } });
    expect(r.status).toBe(200);
    const header = r.body.headers['x-kinora-identity'] as string;
    expect(header).not.toBe(forged['x-kinora-identity']);
    expect(verifyGatewayIdentity(IDENTITY_SECRET, header, { method: 'GET', url: '/api/v1/videos/echo2?x=1' })).toEqual({
      userId: 'user-42',
      username: 'name-user-42',
      sessionId: 'sid-user-42',
    });
    expect(verifyGatewayIdentity('another-secret-of-at-least-32-chars!', header, { method: 'GET', url: '/api/v1/videos/echo2?x=1' })).toBeNull();
    expect(verifyGatewayIdentity(IDENTITY_SECRET, header, { method: 'GET', url: '/api/v1/videos/other' })).toBeNull();
    expect(r.body.headers['x-user-id']).toBeUndefined();
  });

  it('rejects tampered, expired, unsigned (alg none), foreign-key and wrong-audience tokens before the upstream', async () => {
    const before = await fixtureStats(upstream.url);
    const good = await keys.token({ sub: 'user-1' });
    const other = await makeKeys(keys.kid); // same kid, another key
    const cases: Array<[string, string, string]> = [
      ['tampered', tamperedToken(good, { sub: 'admin' }), 'INVALID_TOKEN'],
      ['expired', await keys.token({ expSec: -60, iat: Math.floor(Date.now() / 1000) - 700 }), 'TOKEN_EXPIRED'],
      ['alg none', unsignedToken(keys.kid), 'INVALID_TOKEN'],
      ['foreign key', await other.token(), 'INVALID_TOKEN'],
      ['wrong audience', await keys.token({ aud: 'someone-else' }), 'INVALID_TOKEN'],
      ['wrong issuer', await keys.token({ iss: 'http://evil.test' }), 'INVALID_TOKEN'],
      ['not a JWT', 'abc', 'INVALID_TOKEN'],
    ];
    for (const [what, token, code] of cases) {
      const r = await call(`${base}/api/v1/videos/echo3`, { headers: { authorization: `Bearer ${token}` } });
      expect([what, r.status]).toEqual([what, 401]);
      expectProblem(r, 401, code);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    // A good token verified once is still rejected once tampered (the cache is keyed by the whole token).
    expect((await call(`${base}/api/v1/videos/echo3`, { headers: { authorization: `Bearer ${good}` } })).status).toBe(200);
    expect((await call(`${base}/api/v1/videos/echo3`, { headers: { authorization: `Bearer ${tamperedToken(good, { sub: 'admin' })}` } })).status).toBe(401);
    const after = await fixtureStats(upstream.url);
    expect(after.byRoute['GET /api/v1/videos/echo3'] ?? 0).toBe((before.byRoute['GET /api/v1/videos/echo3'] ?? 0) + 1);
  });
});

describe('resilience towards an upstream', () => {
  it('answers 504 after the read timeout and leaves no request hanging upstream', async () => {
    const before = await fixtureStats(upstream.url);
    const r = await call(`${base}/api/v1/search?q=slow&delayMs=5000`);
    expectProblem(r, 504, 'UPSTREAM_TIMEOUT');
    expect(r.ms).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 20);
    expect(r.ms).toBeLessThan(READ_TIMEOUT_MS + 700);
    // The gateway aborted its upstream request: the upstream saw the connection close, nothing is in flight.
    await waitUntil('upstream request aborted', async () => (await fixtureStats(upstream.url)).aborted > before.aborted, { timeoutMs: 2000, intervalMs: 20 });
    const after = await fixtureStats(upstream.url);
    expect(after.inflight).toBe(0);
    // Timeouts are not retried (a retry would double the wait).
    expect(after.byRoute['GET /api/v1/search']).toBe((before.byRoute['GET /api/v1/search'] ?? 0) + 1);
    const metrics = (await call(`${base}/metrics`)).body as string;
    expect(metricValue(metrics, 'gateway_upstream_failures_total', { upstream: 'video', reason: 'timeout' })).toBeGreaterThanOrEqual(1);
  });

  it('retries idempotent reads with backoff, never writes', async () => {
    await fixtureControl(upstream.url, { failNext: 2 });
    const before = await fixtureStats(upstream.url);
    const r = await call(`${base}/api/v1/videos/retry-me`);
    expect(r.status).toBe(200);
    expect((await fixtureStats(upstream.url)).byRoute['GET /api/v1/videos/retry-me']).toBe((before.byRoute['GET /api/v1/videos/retry-me'] ?? 0) + 3);

    await fixtureControl(upstream.url, { failNext: 1 });
    const w0 = (await fixtureStats(upstream.url)).byRoute['POST /api/v1/videos'] ?? 0;
    const w = await call(`${base}/api/v1/videos`, { method: 'POST', headers: await bearer(), body: { title: 'once' } });
    expect(w.status).toBe(503); // the upstream's own answer, passed through
    expect((await fixtureStats(upstream.url)).byRoute['POST /api/v1/videos']).toBe(w0 + 1);
  });

  it('counts a 5xx in gateway_upstream_failures_total, not a 503 with Retry-After (a deliberate refusal)', async () => {
    const failures = async () => metricValue((await call(`${base}/metrics`)).body as string, 'gateway_upstream_failures_total', { upstream: 'video', reason: 'error' }) ?? 0;
    const f0 = await failures();
    await fixtureControl(upstream.url, { refuseNext: 1 });
    const refused = await call(`${base}/api/v1/videos`, { method: 'POST', headers: await bearer(), body: { title: 'refused' } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await failures()).toBe(f0);
    await fixtureControl(upstream.url, { failNext: 1 });
    const failed = await call(`${base}/api/v1/videos`, { method: 'POST', headers: await bearer(), body: { title: 'failed' } });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBeNull();
    expect(await failures()).toBe(f0 + 1);
  });

  it('serves a recent anonymous read from the stale cache when the upstream fails (stale-if-error)', async () => {
    const fresh = await call(`${base}/api/v1/videos/cached-1`);
    expect(fresh.status).toBe(200);
    await fixtureControl(upstream.url, { failAll: 1 });
    try {
      const stale = await call(`${base}/api/v1/videos/cached-1`);
      expect(stale.status).toBe(200);
      expect(stale.body.at).toBe(fresh.body.at);
      expect(stale.headers.get('x-kinora-stale')).toBe('true');
      expect(Number(stale.headers.get('age'))).toBeGreaterThanOrEqual(0);
      // Answers for a signed-in user are never shared from the cache.
      const personal = await call(`${base}/api/v1/videos/cached-1`, { headers: await bearer() });
      expect(personal.status).toBe(500);
      // Nothing cached for another path: the failure is passed through.
      expect((await call(`${base}/api/v1/videos/never-seen`)).status).toBe(500);
    } finally {
      await fixtureControl(upstream.url, { failAll: 0 });
    }
    const metrics = (await call(`${base}/metrics`)).body as string;
    expect(metricValue(metrics, 'gateway_stale_responses_total', { upstream: 'video' })).toBeGreaterThanOrEqual(1);
  });

  it('sheds load beyond the bulkhead with 503 and Retry-After', async () => {
    const results = await Promise.all(Array.from({ length: 7 }, (_, i) => call(`${base}/api/v1/search?q=b${i}&delayMs=150`)));
    const shed = results.filter((r) => r.status === 503);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(4);
    expect(shed.length).toBeGreaterThanOrEqual(1);
    for (const r of shed) {
      expectProblem(r, 503, 'SERVICE_UNAVAILABLE');
      expect(r.headers.get('retry-after')).toBe('1');
    }
  });
});
