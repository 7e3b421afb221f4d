import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';
import { buildKinora } from '../../src/app.js';

// The all-in-one plugin chain, in-process: OpenAPI, CORS, logs with request and trace ids, readiness.
let tdb: TestDatabase;
let database: Database;
let app: FastifyInstance;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase('kinora_chain');
  database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl] });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', CORS_ORIGINS: 'https://app.example.com' });
  app = await buildKinora(config, { database, logger: createLogger({ level: 'info', destination: sink }), scrypt: { N: 1024, r: 8, p: 1 } });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await database?.close();
  await tdb?.drop();
});

describe('embedded plugin chain', () => {
  it('publishes an OpenAPI 3.1 document with every identity route of the contract', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, m]) => Object.keys(m).map((k) => `${k.toUpperCase()} ${p}`));
    for (const op of [
      'POST /api/v1/auth/register',
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/refresh',
      'POST /api/v1/auth/logout',
      'GET /api/v1/users/me',
      'PATCH /api/v1/users/me',
      'GET /api/v1/channels/{channelId}',
      'PATCH /api/v1/channels/{channelId}',
      'GET /.well-known/jwks.json',
    ]) {
      expect(ops).toContain(op);
    }
    expect(doc.paths['/api/v1/auth/register'].post.requestBody).toBeDefined();
    expect(doc.paths['/api/v1/users/me'].get.security).toEqual([{ bearerAuth: [] }]);
  });

  it('answers CORS preflights for configured origins only, allowing Authorization', async () => {
    const ok = await app.inject({
      method: 'OPTIONS',
      url: '/api/v1/users/me',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(ok.headers['access-control-allow-headers'])).toContain('authorization');
    const other = await app.inject({
      method: 'OPTIONS',
      url: '/api/v1/users/me',
      headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'GET' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('logs JSON lines with the request id and the W3C trace id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/channels/01900000-0000-7000-8000-000000000000',
      headers: { 'x-request-id': 'req-trace-1', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-request-id']).toBe('req-trace-1');
    const mine = lines.filter((l) => l['reqId'] === 'req-trace-1');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.some((l) => l['traceId'] === traceId)).toBe(true);
  });

  it('never logs passwords or tokens', async () => {
    await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login: 'nobody', password: 'SuperSecretValue42' } });
    expect(JSON.stringify(lines)).not.toContain('SuperSecretValue42');
  });

  it('reports readiness of its database and fails to build without one', async () => {
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const broken = new Database({ primaryUrl: 'postgres://nobody:x@127.0.0.1:1/none' });
    // The user module migrates at build time, so a dead database fails the build with a clear error.
    await expect(buildKinora(loadConfig({}), { database: broken, logger: createLogger({ level: 'silent' }) })).rejects.toThrow(/ECONNREFUSED|connect/);
    await broken.close();
  });
});
