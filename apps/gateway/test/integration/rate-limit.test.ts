import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { loadConfig } from '@kinora/config';
import { createBaseApp } from '@kinora/observability';
import { getTestEnv, startRedis, startRedisSentinel, waitUntil, type RedisHandle, type RedisSentinelHandle } from '@kinora/testing';
import { gatewayPlugin } from '../../src/gateway.plugin.js';
import { redisTierStore } from '../../src/rate-limit/rate-limit.stores.js';
import { call, captureLogs, ISSUER, makeKeys, metricValue, type TestKeys } from './helpers.js';

// Embedded mode: gateway instances in front of in-process routes, counting in a real Redis.
let keys: TestKeys;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  keys = await makeKeys();
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

interface Instance {
  app: FastifyInstance;
  url: string;
  lines: Record<string, unknown>[];
}

async function instance(env: Record<string, string>, prefix: string, logIntervalMs = 60_000): Promise<Instance> {
  const config = loadConfig({ PUBLIC_URL: ISSUER, RATE_LIMIT_GENERAL: '5/1m', RATE_LIMIT_AUTH: '3/1m', RATE_LIMIT_UPLOAD: '2/1m', ...env });
  const { logger, lines } = captureLogs('info');
  const app = await createBaseApp({ logger, bodyLimitBytes: config.bodyLimitBytes, trustedProxies: config.trustedProxies, openapi: { title: 't', version: '1', publicUrl: ISSUER } });
  await app.register(gatewayPlugin, { config, verifier: keys.verifier(), rateLimitKeyPrefix: prefix, rateLimitErrorLogIntervalMs: logIntervalMs });
  await app.register(async (svc) => {
    svc.get('/api/v1/videos', async () => ({ items: [], nextCursor: null }));
    svc.post('/api/v1/auth/register', { config: { rateLimitTier: 'auth' } }, async () => ({ ok: 'register' }));
    svc.post('/api/v1/auth/login', async () => ({ ok: 'login' })); // tier from the contract's defaults
    svc.post('/api/v1/auth/refresh', { config: { rateLimitTier: 'auth' } }, async () => ({ ok: 'refresh' }));
    svc.post('/api/v1/auth/logout', async (_req, reply) => reply.code(204).send());
    svc.post('/api/v1/uploads', { preHandler: svc.requireUser }, async (_req, reply) => reply.code(201).send({ ok: true }));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  apps.push(app);
  const addr = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, lines };
}

const sharedRedis = () => ({ REDIS_URL: getTestEnv().redisUrl });
const prefix = () => `kinora:test:${randomUUID()}:`;
const bearer = async (sub: string) => ({ authorization: `Bearer ${await keys.token({ sub })}` });

function expect429(r: { status: number; headers: Headers; body: any }, limit: number): void {
  expect(r.status).toBe(429);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toEqual(expect.objectContaining({ status: 429, code: 'RATE_LIMITED', title: expect.any(String), detail: expect.any(String), type: expect.any(String) }));
  const retryAfter = Number(r.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(r.headers.get('x-ratelimit-limit')).toBe(String(limit));
  expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
  expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(0);
}

describe('a budget shared by two gateway instances in Redis', () => {
  it('counts requests to either instance against one budget, with the headers of the contract', async () => {
    const p = prefix();
    const [a, b] = [await instance(sharedRedis(), p), await instance(sharedRedis(), p)];
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call(`${[a, b][i % 2]!.url}/api/v1/videos`);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBe('5');
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
      remaining.push(r.headers.get('x-ratelimit-remaining')!);
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    expect429(await call(`${a.url}/api/v1/videos`), 5);
    expect429(await call(`${b.url}/api/v1/videos`), 5);

    const redis = new Redis(getTestEnv().redisUrl);
    try {
      expect(Number(await redis.get(`${p}general:ip:127.0.0.1`))).toBe(7);
      expect(await redis.pttl(`${p}general:ip:127.0.0.1`)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
    const metrics = (await call(`${a.url}/metrics`)).body as string;
    expect(metricValue(metrics, 'gateway_rate_limited_total', { tier: 'general' })).toBe(1);
  });

  it('gives register, login and refresh one auth budget, apart from the general one', async () => {
    const p = prefix();
    const [a, b] = [await instance(sharedRedis(), p), await instance(sharedRedis(), p)];
    expect((await call(`${a.url}/api/v1/auth/register`, { method: 'POST', body: {} })).status).toBe(200);
    expect((await call(`${b.url}/api/v1/auth/login`, { method: 'POST', body: {} })).status).toBe(200);
    const third = await call(`${a.url}/api/v1/auth/refresh`, { method: 'POST', body: {} });
    expect(third.status).toBe(200);
    expect(third.headers.get('x-ratelimit-limit')).toBe('3');
    expect(third.headers.get('x-ratelimit-remaining')).toBe('0');
    expect429(await call(`${b.url}/api/v1/auth/login`, { method: 'POST', body: {} }), 3);
    expect429(await call(`${a.url}/api/v1/auth/register`, { method: 'POST', body: {} }), 3);
    // Logout and reads spend the general budget, which is untouched.
    const logout = await call(`${b.url}/api/v1/auth/logout`, { method: 'POST', body: {} });
    expect(logout.status).toBe(204);
    expect(logout.headers.get('x-ratelimit-limit')).toBe('5');
    expect((await call(`${a.url}/api/v1/videos`)).headers.get('x-ratelimit-remaining')).toBe('3');
  });

  it('counts a signed-in client as its user, each user on its own, and upload creation per user', async () => {
    const p = prefix();
    const [a, b] = [await instance(sharedRedis(), p), await instance(sharedRedis(), p)];
    for (let i = 0; i < 5; i++) await call(`${a.url}/api/v1/videos`);
    expect((await call(`${a.url}/api/v1/videos`)).status).toBe(429); // this address is spent…
    const alice = await bearer('alice');
    const bob = await bearer('bob');
    const r = await call(`${b.url}/api/v1/videos`, { headers: alice }); // …but alice is counted as herself
    expect(r.status).toBe(200);
    expect(r.headers.get('x-ratelimit-remaining')).toBe('4');

    expect((await call(`${a.url}/api/v1/uploads`, { method: 'POST', headers: alice, body: {} })).status).toBe(201);
    const up2 = await call(`${b.url}/api/v1/uploads`, { method: 'POST', headers: alice, body: {} });
    expect(up2.status).toBe(201);
    expect(up2.headers.get('x-ratelimit-limit')).toBe('2');
    expect429(await call(`${a.url}/api/v1/uploads`, { method: 'POST', headers: alice, body: {} }), 2);
    expect((await call(`${a.url}/api/v1/uploads`, { method: 'POST', headers: bob, body: {} })).status).toBe(201);
    expect((await call(`${a.url}/api/v1/videos`, { headers: alice })).headers.get('x-ratelimit-remaining')).toBe('3');
  });

  it('believes X-Forwarded-For only from trusted proxies', async () => {
    const untrusted = await instance(sharedRedis(), prefix());
    for (let i = 0; i < 5; i++) await call(`${untrusted.url}/api/v1/videos`, { headers: { 'x-forwarded-for': `198.51.100.${i}` } });
    expect((await call(`${untrusted.url}/api/v1/videos`, { headers: { 'x-forwarded-for': '198.51.100.99' } })).status).toBe(429);

    const behindProxy = await instance({ ...sharedRedis(), TRUSTED_PROXIES: '127.0.0.1' }, prefix());
    for (let i = 0; i < 5; i++) {
      expect((await call(`${behindProxy.url}/api/v1/videos`, { headers: { 'x-forwarded-for': '198.51.100.1' } })).status).toBe(200);
    }
    expect((await call(`${behindProxy.url}/api/v1/videos`, { headers: { 'x-forwarded-for': '198.51.100.1' } })).status).toBe(429);
    expect((await call(`${behindProxy.url}/api/v1/videos`, { headers: { 'x-forwarded-for': '198.51.100.2' } })).status).toBe(200);
  });

  it('never counts health, metrics, the OpenAPI document or CORS preflights', async () => {
    const a = await instance(sharedRedis(), prefix());
    for (let i = 0; i < 6; i++) await call(`${a.url}/api/v1/videos`);
    for (const path of ['/healthz', '/readyz', '/metrics', '/api/v1/openapi.json']) {
      const r = await call(`${a.url}${path}`);
      expect([path, r.status]).toEqual([path, 200]);
      expect(r.headers.get('x-ratelimit-limit')).toBeNull();
    }
    const pre = await call(`${a.url}/api/v1/videos`, { method: 'OPTIONS', headers: { origin: ISSUER, 'access-control-request-method': 'GET' } });
    expect(pre.status).toBe(204);
  });

  it('counts per process without Redis (embedded mode on its own)', async () => {
    const [a, b] = [await instance({}, prefix()), await instance({}, prefix())];
    for (let i = 0; i < 5; i++) expect((await call(`${a.url}/api/v1/videos`)).status).toBe(200);
    expect429(await call(`${a.url}/api/v1/videos`), 5);
    expect((await call(`${b.url}/api/v1/videos`)).status).toBe(200);
  });
});

describe('the Redis store: one script call per event-loop turn', () => {
  type Result = { current: number; ttl: number };
  const incr = (store: { incr(k: string, cb: (e: Error | null, r?: Result) => void, w: number, m: number): void }, key: string, windowMs = 60_000) =>
    new Promise<Result>((resolve, reject) => store.incr(key, (e, r) => (e || !r ? reject(e ?? new Error('no result')) : resolve(r)), windowMs, 100));

  it('counts checks that arrive together exactly, with consecutive counts per key, in one call', async () => {
    const redis = new Redis(getTestEnv().redisUrl);
    try {
      const p = prefix();
      const Store = redisTierStore(redis, p);
      const general = new Store({ tier: 'general' });
      const auth = general.child({ tier: 'auth' });
      const before = await scriptCalls(redis);
      // 30 checks of one client, 5 of another, 3 of the same client on another tier: all in one turn.
      const results = await Promise.all([
        ...Array.from({ length: 30 }, () => incr(general, 'ip:a')),
        ...Array.from({ length: 5 }, () => incr(general, 'ip:b')),
        ...Array.from({ length: 3 }, () => incr(auth, 'ip:a', 30_000)),
      ]);
      expect(await scriptCalls(redis)).toBe(before + 1);
      expect(results.slice(0, 30).map((r) => r.current)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(results.slice(30, 35).map((r) => r.current)).toEqual([1, 2, 3, 4, 5]);
      expect(results.slice(35).map((r) => r.current)).toEqual([1, 2, 3]);
      for (const r of results.slice(0, 35)) expect(r.ttl).toBe(60_000);
      for (const r of results.slice(35)) expect(r.ttl).toBe(30_000);
      // The next turn continues from the stored counts, with the remaining lifetime of the window.
      const later = await incr(general, 'ip:a');
      expect(later.current).toBe(31);
      expect(later.ttl).toBeLessThanOrEqual(60_000);
      expect(later.ttl).toBeGreaterThan(50_000);
      expect(await redis.get(`${p}general:ip:a`)).toBe('31');
      expect(await redis.get(`${p}auth:ip:a`)).toBe('3');
      expect(await redis.pttl(`${p}auth:ip:a`)).toBeGreaterThan(20_000);
    } finally {
      redis.disconnect();
    }
  });

  it('splits a very large turn over several calls and still counts every check', async () => {
    const redis = new Redis(getTestEnv().redisUrl);
    try {
      const p = prefix();
      const store = new (redisTierStore(redis, p))({ tier: 'general' });
      const results = await Promise.all(Array.from({ length: 600 }, (_, i) => incr(store, `ip:${i}`)));
      expect(results.every((r) => r.current === 1)).toBe(true);
      expect(await redis.keys(`${p}general:*`)).toHaveLength(600);
    } finally {
      redis.disconnect();
    }
  });

  it('gives every check of a failed call the error', async () => {
    const own = await startRedis();
    const redis = new Redis(own.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await waitUntil('connected', async () => redis.status === 'ready', { timeoutMs: 5000, intervalMs: 20 });
      const store = new (redisTierStore(redis, prefix()))({ tier: 'general' });
      await own.stop();
      await waitUntil('disconnected', async () => redis.status !== 'ready', { timeoutMs: 5000, intervalMs: 20 });
      const results = await Promise.allSettled([incr(store, 'ip:a'), incr(store, 'ip:a'), incr(store, 'ip:b')]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    } finally {
      redis.disconnect();
      await own.stop();
    }
  });
});

describe('a budget in Redis found through Sentinel (REDIS_SENTINELS)', () => {
  let rs: RedisSentinelHandle;
  beforeAll(async () => {
    rs = await startRedisSentinel({ masterName: 'kinora-gateway' });
  }, 120_000);
  afterAll(async () => {
    await rs?.stop();
  });

  it('two gateways count on the primary the Sentinel names, and go on counting on the new primary after a failover', async () => {
    const p = prefix();
    const env = { REDIS_SENTINELS: rs.sentinelsEnv, REDIS_SENTINEL_MASTER: rs.masterName, RATE_LIMIT_GENERAL: '1000/1m' };
    const [a, b] = [await instance(env, p), await instance(env, p)];
    const remaining = async (i: Instance): Promise<number | undefined> => {
      const r = await call(`${i.url}/api/v1/videos`);
      expect(r.status).toBe(200);
      const left = r.headers.get('x-ratelimit-remaining');
      return left === null ? undefined : Number(left);
    };
    // Until the clients have asked the Sentinel for the primary, checks fail open (served, not counted).
    for (const i of [a, b]) await waitUntil('counted', async () => (await remaining(i)) !== undefined, { timeoutMs: 10_000, intervalMs: 50 });
    const before = (await remaining(a))!;
    expect(await remaining(b)).toBe(before - 1);
    const onPrimary = async (port: number) => {
      const direct = new Redis({ port, host: '127.0.0.1' });
      try {
        return await direct.keys(`${p}*`);
      } finally {
        direct.disconnect();
      }
    };
    expect(await onPrimary(await rs.primaryPort())).toEqual([`${p}general:ip:127.0.0.1`]);

    const primary = await rs.failover();
    await waitUntil('counting on the new primary', async () => {
      const left = await remaining(a);
      return left !== undefined && (await onPrimary(primary)).length === 1 && (await remaining(b)) === left - 1;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    // The count replicated before the failover went on (the budget was not reset).
    expect((await remaining(a))!).toBeLessThan(before - 1);
  }, 60_000);
});

async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) calls += Number(m[1]);
  return calls;
}

describe('when Redis is unreachable', () => {
  let redis: RedisHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('keeps serving (fail-open), counts every miss in a metric, logs once per interval, and limits again when Redis is back', async () => {
    if (!redis.running) await redis.start();
    const a = await instance({ REDIS_URL: redis.url, RATE_LIMIT_STORE_TIMEOUT_MS: '100' }, prefix());
    await waitUntil('limits counted', async () => (await call(`${a.url}/api/v1/videos`)).headers.get('x-ratelimit-limit') === '5', { timeoutMs: 5000, intervalMs: 50 });

    const errorsBefore = metricValue((await call(`${a.url}/metrics`)).body as string, 'gateway_rate_limit_store_errors_total', { outcome: 'served' }) ?? 0;
    await redis.stop();
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await call(`${a.url}/api/v1/videos`));
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit')).toBeNull();
    }
    // No request waited for Redis: with the offline queue off, a check fails at once (median, for busy machines).
    expect(results.map((r) => r.ms).sort((x, y) => x - y)[4]).toBeLessThan(50);
    const metrics = (await call(`${a.url}/metrics`)).body as string;
    expect(metricValue(metrics, 'gateway_rate_limit_store_errors_total', { outcome: 'served' })).toBe(errorsBefore + 8);
    const logged = a.lines.filter((l) => String(l['msg']).startsWith('rate-limit store unavailable'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toEqual(expect.objectContaining({ level: 40, failMode: 'open' }));

    await redis.start();
    await waitUntil('limits counted again', async () => (await call(`${a.url}/api/v1/videos`)).headers.get('x-ratelimit-limit') === '5', { timeoutMs: 10_000, intervalMs: 50 });
    for (let i = 0; i < 5; i++) await call(`${a.url}/api/v1/videos`);
    expect429(await call(`${a.url}/api/v1/videos`), 5);
  });

  it('answers 503 instead when configured to fail closed', async () => {
    if (!redis.running) await redis.start();
    const a = await instance({ REDIS_URL: redis.url, RATE_LIMIT_FAIL_MODE: 'closed', RATE_LIMIT_STORE_TIMEOUT_MS: '100' }, prefix(), 0);
    await waitUntil('limits counted', async () => (await call(`${a.url}/api/v1/videos`)).status === 200, { timeoutMs: 5000, intervalMs: 50 });
    const errorsBefore = metricValue((await call(`${a.url}/metrics`)).body as string, 'gateway_rate_limit_store_errors_total', { outcome: 'rejected' }) ?? 0;
    await redis.stop();
    const r = await call(`${a.url}/api/v1/videos`);
    expect(r.status).toBe(503);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('SERVICE_UNAVAILABLE');
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.ms).toBeLessThan(500);
    // Uncounted routes still answer.
    expect((await call(`${a.url}/healthz`)).status).toBe(200);
    const metrics = (await call(`${a.url}/metrics`)).body as string;
    expect(metricValue(metrics, 'gateway_rate_limit_store_errors_total', { outcome: 'rejected' })).toBe(errorsBefore + 1);
  });
});
