import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@kinora/config';
import { commonErrors } from '@kinora/http';
import { createBaseApp } from '@kinora/observability';
import { gatewayPlugin } from '../../src/gateway.plugin.js';
import { call, captureLogs, ISSUER, makeKeys, metricValue, tamperedToken, type TestKeys } from './helpers.js';

// Embedded mode: the same chain wraps in-process service routes (here a stand-in "video" service).
let keys: TestKeys;
let app: FastifyInstance;
let base: string;
let lines: Record<string, unknown>[];
let verifications = 0;
const handled: Record<string, number> = {};
let failing = false;

beforeAll(async () => {
  keys = await makeKeys();
  const config = loadConfig({
    PUBLIC_URL: ISSUER,
    RATE_LIMIT_GENERAL: 'off',
    UPSTREAM_TIMEOUT_READ_MS: '200',
    BREAKER_FAILURE_THRESHOLD: '3',
    BREAKER_HALF_OPEN_AFTER_MS: '300',
    STALE_IF_ERROR_MS: '60000',
  });
  const captured = captureLogs('info');
  lines = captured.lines;
  app = await createBaseApp({ logger: captured.logger, bodyLimitBytes: config.bodyLimitBytes, openapi: { title: 't', version: '1', publicUrl: ISSUER } });
  const verifier = keys.verifier();
  const verify = verifier.verify.bind(verifier);
  verifier.verify = async (t) => {
    verifications++;
    return verify(t);
  };
  await app.register(gatewayPlugin, { config, verifier });
  await app.register(async (svc) => {
    const count = (k: string) => (handled[k] = (handled[k] ?? 0) + 1);
    svc.get('/api/v1/videos', async () => {
      count('list');
      if (failing) throw new Error('database is down');
      return { items: [{ id: 'v1' }], nextCursor: null, at: Date.now() };
    });
    svc.get('/api/v1/videos/:id', async (req) => {
      count('one');
      if ((req.params as { id: string }).id === 'missing') throw commonErrors.NOT_FOUND('No such video');
      if (failing) throw commonErrors.SERVICE_UNAVAILABLE('storage is down');
      return { id: (req.params as { id: string }).id };
    });
    svc.get('/api/v1/search', async () => {
      count('slow');
      await new Promise((r) => setTimeout(r, 1000).unref()); // outlives the 504; must not hold the worker
      return { late: true };
    });
    svc.get('/api/v1/users/me', { preHandler: svc.requireUser }, async (req) => ({ id: req.principal!.userId }));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await app?.close();
});

describe('embedded gateway chain', () => {
  it('verifies a token once while it is valid, and every tampered variant every time', async () => {
    const token = await keys.token({ sub: 'u-cache' });
    const before = verifications;
    for (let i = 0; i < 5; i++) expect((await call(`${base}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } })).body).toEqual({ id: 'u-cache' });
    expect(verifications - before).toBe(1);
    const bad = tamperedToken(token, { sub: 'admin' });
    for (let i = 0; i < 3; i++) expect((await call(`${base}/api/v1/users/me`, { headers: { authorization: `Bearer ${bad}` } })).status).toBe(401);
    expect(verifications - before).toBe(4);
  });

  it('answers 504 when an in-process handler exceeds the read timeout', async () => {
    const r = await call(`${base}/api/v1/search?q=x`);
    expect(r.status).toBe(504);
    expect(r.body.code).toBe('UPSTREAM_TIMEOUT');
    expect(r.ms).toBeLessThan(700);
  });

  it('does not count client errors, opens the breaker after consecutive 5xx, serves stale reads, and recovers', async () => {
    const fresh = await call(`${base}/api/v1/videos`);
    expect(fresh.status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await call(`${base}/api/v1/videos/missing`)).status).toBe(404);
    expect(app.upstreams.get('video').state).toBe('closed');

    failing = true;
    // The timeout above was one failure; the breaker needs 3 in a row, a success in between reset the count.
    for (let i = 0; i < 3; i++) expect((await call(`${base}/api/v1/videos/v${i}`)).status).toBe(503);
    expect(app.upstreams.get('video').state).toBe('open');
    const calls = handled['one'];
    const opens = [];
    for (let i = 0; i < 5; i++) opens.push(await call(`${base}/api/v1/videos/v9`));
    const open = opens[0]!;
    for (const r of opens) expect(r.status).toBe(503);
    expect(open.headers.get('retry-after')).toBe('1');
    expect(opens.map((r) => r.ms).sort((a, b) => a - b)[2]).toBeLessThan(50);
    expect(handled['one']).toBe(calls); // not run while open
    const stale = await call(`${base}/api/v1/videos`);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-kinora-stale')).toBe('true');
    expect(stale.body.at).toBe(fresh.body.at);
    const metrics = (await call(`${base}/metrics`)).body as string;
    expect(metricValue(metrics, 'gateway_circuit_breaker_state', { upstream: 'video' })).toBe(1);

    failing = false;
    await new Promise((r) => setTimeout(r, 320));
    expect((await call(`${base}/api/v1/videos/back`)).status).toBe(200);
    expect(app.upstreams.get('video').state).toBe('closed');
    const transitions = lines.filter((l) => l['upstream'] === 'video' && typeof l['to'] === 'string').map((l) => `${l['from']}->${l['to']}`);
    expect(transitions).toEqual(['CLOSED->OPEN', 'OPEN->HALF_OPEN', 'HALF_OPEN->CLOSED']);
  });
});
