import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@kinora/config';
import { CONTRACT_OPERATIONS, createTestDatabase, operationsOf, waitUntil, type TestDatabase } from '@kinora/testing';
import { buildGateway } from '../../src/app.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { call, captureLogs, IDENTITY_SECRET, ISSUER, metricValue, startNodeProcess, type RunningProcess } from './helpers.js';

// Cluster mode in front of the real user service, run from its build as its own process: tokens verified
// against the JWKS fetched over HTTP, validation with the service's own schemas, and the circuit breaker when the
// process is killed and started again.
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const USER_MAIN = `${root}apps/user/dist/main.js`;
const FAILURES = 3;
const HALF_OPEN_AFTER_MS = 600;

let tdb: TestDatabase;
let user: RunningProcess;
let gateway: FastifyInstance;
let base: string;
let lines: Record<string, unknown>[];

function startUser(port?: number): Promise<RunningProcess> {
  return startNodeProcess(
    USER_MAIN,
    { DATABASE_URL: tdb.url, PUBLIC_URL: ISSUER, LOG_LEVEL: 'warn', ACCESS_TOKEN_TTL_SEC: '600', KINORA_DATA_DIR: `${root}.cache/gateway-test-user` },
    { ...(port ? { port } : {}), readyPath: '/healthz', timeoutMs: 60_000 },
  );
}

beforeAll(async () => {
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  const build = spawnSync('flock', [`${root}.cache/gateway-build.lock`, process.execPath, tsc, '-b', `${root}apps/user`], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build of apps/user failed: ${build.stdout}${build.stderr}${build.error?.message ?? ''}`);
  tdb = await createTestDatabase('gateway_user');
  user = await startUser();
  const captured = captureLogs('info');
  lines = captured.lines;
  const config = loadConfig({
    PUBLIC_URL: ISSUER,
    USER_SERVICE_URL: user.url,
    GATEWAY_IDENTITY_SECRET: IDENTITY_SECRET,
    RATE_LIMIT_GENERAL: 'off',
    RATE_LIMIT_AUTH: 'off',
    UPSTREAM_RETRIES: '0',
    BREAKER_FAILURE_THRESHOLD: String(FAILURES),
    BREAKER_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS),
    UPSTREAM_TIMEOUT_WRITE_MS: '5000',
  });
  gateway = await buildGateway(config, { logger: captured.logger });
  await gateway.listen({ port: 0, host: '127.0.0.1' });
  const addr = gateway.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}, 180_000);

afterAll(async () => {
  await gateway?.close();
  await user?.stop();
  await tdb?.drop();
});

const uniqueName = () => `gw${process.pid}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`.slice(0, 30);

async function register(): Promise<{ token: string; user: { id: string; channelId: string } }> {
  const username = uniqueName();
  const r = await call(`${base}/api/v1/auth/register`, { method: 'POST', body: { username, email: `${username}@example.com`, password: 'correct horse battery' } });
  expect(r.status).toBe(201);
  return { token: r.body.accessToken, user: r.body.user };
}

describe('the user service behind the gateway', () => {
  it('registers, signs in and answers /users/me with tokens verified against the JWKS over HTTP', async () => {
    const { token, user: u } = await register();
    const me = await call(`${base}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(u.id);
    const anon = await call(`${base}/api/v1/users/me`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const jwks = await call(`${base}/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys[0]).toEqual(expect.objectContaining({ kty: 'OKP', kid: expect.any(String) }));
  });

  it("validates with the service's own schemas at the gateway", async () => {
    const r = await call(`${base}/api/v1/auth/register`, { method: 'POST', body: { username: 'x', email: 'not-an-email', password: 'short' } });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('VALIDATION_FAILED');
    expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['/body/email', '/body/password', '/body/username']);
    const ch = await call(`${base}/api/v1/channels/not-a-uuid`);
    expect(ch.status).toBe(400);
    expect(ch.body.errors[0].field).toBe('/params/channelId');
  });
});

describe('OpenAPI document', () => {
  function expectContractComplete(doc: { openapi?: string; paths?: Record<string, Record<string, unknown>> }): string[] {
    expect(doc.openapi).toBe('3.1.0');
    const table = new RouteTable();
    const ops = operationsOf(doc);
    const owner = (op: string) => table.ownerOf(op.split(' ')[1]!.replace(/\{\}/g, 'x'));
    const present = new Set(ops.map(owner));
    for (const op of CONTRACT_OPERATIONS) {
      expect([op, owner(op)]).toEqual([op, expect.any(String)]);
      if (present.has(owner(op))) expect(ops).toContain(op);
    }
    return ops;
  }

  it('lists every contract route of the running services in cluster mode, with the schemas of the service', async () => {
    const gw = (await call(`${base}/api/v1/openapi.json`)).body;
    const ops = expectContractComplete(gw);
    expect(ops).toEqual(expect.arrayContaining(['POST /api/v1/auth/register', 'GET /api/v1/users/me', 'PATCH /api/v1/channels/{}']));
    const svc = (await call(`${user.url}/api/v1/openapi.json`)).body;
    expect(ops.sort()).toEqual(operationsOf(svc).sort());
    // Same request schemas as the service publishes (round trip through the gateway's routes).
    for (const [path, item] of Object.entries(svc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) {
        expect([path, method, gw.paths[path][method].requestBody]).toEqual([path, method, op.requestBody]);
        expect([path, method, gw.paths[path][method].parameters]).toEqual([path, method, op.parameters]);
        expect([path, method, Object.keys(gw.paths[path][method].responses).sort()]).toEqual([path, method, Object.keys(op.responses).sort()]);
      }
    }
    expect(gw.paths['/api/v1/auth/login'].post['x-kinora-rate-limit-tier']).toBe('auth');
  });
});

describe('circuit breaker when the user service dies and comes back', () => {
  it('opens after the configured failures, answers 503 at once, probes after the cool-down and closes', async () => {
    const { token, user: u } = await register();
    const channelUrl = `${base}/api/v1/channels/${u.channelId}`;
    const fresh = await call(channelUrl);
    expect(fresh.status).toBe(200);

    await user.stop('SIGKILL');
    const login = () => call(`${base}/api/v1/auth/login`, { method: 'POST', body: { login: 'nobody', password: 'whatever1' } });
    for (let i = 0; i < FAILURES; i++) {
      const r = await login();
      expect(r.status).toBe(503);
      expect(r.body.code).toBe('SERVICE_UNAVAILABLE');
      expect(r.body.detail).toMatch(/could not be reached/);
    }
    const metrics = (await call(`${base}/metrics`)).body as string;
    expect(metricValue(metrics, 'gateway_circuit_breaker_state', { upstream: 'user' })).toBe(1);
    expect(lines.some((l) => l['msg'] === 'circuit breaker of user: CLOSED -> OPEN' && l['level'] === 40)).toBe(true);

    // OPEN: answered by the gateway itself, fast, with Retry-After (median of 5, so a busy CI box does not flake).
    const opens = [];
    for (let i = 0; i < 5; i++) opens.push(await login());
    const open = opens[0]!;
    for (const r of opens) expect(r.status).toBe(503);
    expect(open.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(opens.map((r) => r.ms).sort((a, b) => a - b)[2]).toBeLessThan(50);
    const retryAfter = Number(open.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(HALF_OPEN_AFTER_MS / 1000));
    expect(open.body.detail).toMatch(/unavailable; retry in/);
    // Authentication keeps working from the cached keys; reads degrade to the stale copy.
    const me = await call(`${base}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(503);
    const stale = await call(channelUrl);
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-kinora-stale')).toBe('true');
    expect(stale.body).toEqual(fresh.body);

    user = await startUser(user.port);
    await new Promise((r) => setTimeout(r, HALF_OPEN_AFTER_MS));
    const probe = await call(`${base}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(probe.status).toBe(200);
    await waitUntil('breaker closed', async () => metricValue((await call(`${base}/metrics`)).body as string, 'gateway_circuit_breaker_state', { upstream: 'user' }) === 0, {
      timeoutMs: 2000,
      intervalMs: 50,
    });
    const transitions = lines.filter((l) => l['upstream'] === 'user' && typeof l['to'] === 'string').map((l) => `${l['from']}->${l['to']}`);
    expect(transitions).toEqual(['CLOSED->OPEN', 'OPEN->HALF_OPEN', 'HALF_OPEN->CLOSED']);
    expect((await call(channelUrl)).headers.get('x-kinora-stale')).toBeNull();
  });
});
