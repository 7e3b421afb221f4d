import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfig } from '@kinora/config';
import { buildApp as buildCommentApp } from '@kinora/comment';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';
import { buildKinora } from '../../src/app.js';

// Regression: errors Fastify raises before any route runs (an undecodable URL, an over-long path parameter) and
// requests Node's HTTP parser rejects were answered with Fastify's own application/json bodies, bypassing the
// problem handler. Every one of them must be an RFC 9457 problem.
let tdb: TestDatabase;
let database: Database;
let embedded: FastifyInstance;
let standalone: FastifyInstance;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase('kinora_fwerr');
  database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl] });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination: sink });
  embedded = await buildKinora(loadConfig({ PUBLIC_URL: 'http://kinora.test' }), { database, logger, scrypt: { N: 1024, r: 8, p: 1 } });
  await embedded.listen({ port: 0, host: '127.0.0.1' });
  standalone = await buildCommentApp(loadConfig({ PUBLIC_URL: 'http://kinora.test', GATEWAY_IDENTITY_SECRET: 'x'.repeat(40) }), { database, logger });
  await standalone.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await standalone?.close();
  await embedded?.close();
  await database?.close();
  await tdb?.drop();
});

function port(app: FastifyInstance): number {
  return (app.server.address() as { port: number }).port;
}

/** Sends raw bytes (a request no HTTP client would produce) and returns the raw answer. */
function raw(app: FastifyInstance, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port(app), '127.0.0.1');
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
    socket.write(request);
  });
}

function parseRaw(answer: string): { status: number; headers: string; body: Record<string, unknown> } {
  const [head, body] = answer.split('\r\n\r\n', 2) as [string, string];
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) as Record<string, unknown> };
}

const problemOf = (code: string) => `docs/errors.md#${code.toLowerCase().replace(/_/g, '-')}`;

describe.each([
  ['embedded app', () => embedded],
  ['standalone comment service', () => standalone],
])('framework errors of the %s are problems', (_name, app) => {
  it('answers an undecodable URL (the reported /comments/%00%ff/replies) with a 400 MALFORMED_URL problem', async () => {
    const res = await app().inject({ method: 'GET', url: '/api/v1/comments/%00%ff/replies', headers: { 'x-request-id': 'bad-url-1' } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['x-request-id']).toBe('bad-url-1');
    const body = res.json();
    expect(body).toEqual({
      type: problemOf('MALFORMED_URL'),
      title: 'Malformed URL',
      status: 400,
      detail: expect.stringContaining('percent-encoded'),
      instance: '/api/v1/comments/%00%ff/replies',
      code: 'MALFORMED_URL',
      requestId: 'bad-url-1',
    });
    expect(JSON.stringify(body)).not.toMatch(/at .*\.js|FST_ERR/);
    // Over real HTTP as well (inject bypasses nothing here, but the socket path is what users hit).
    const real = await fetch(`http://127.0.0.1:${port(app())}/api/v1/comments/%00%ff/replies`);
    expect(real.status).toBe(400);
    expect(real.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers a path parameter beyond maxParamLength with a 414 URI_TOO_LONG problem', async () => {
    const res = await app().inject({ method: 'GET', url: `/api/v1/comments/${'a'.repeat(300)}/replies` });
    expect(res.statusCode).toBe(414);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ type: problemOf('URI_TOO_LONG'), status: 414, code: 'URI_TOO_LONG' });
  });

  it.each([
    ['an unparsable Content-Type', { 'content-type': 'application/json; charset' }, '{}'],
    ['a Content-Type with no parser', { 'content-type': 'text/plain' }, 'hi'],
    ['an empty JSON body', { 'content-type': 'application/json' }, ''],
    ['invalid JSON', { 'content-type': 'application/json' }, '{"text":'],
  ])('answers %s with a 4xx problem', async (_what, headers, payload) => {
    const res = await app().inject({ method: 'POST', url: '/api/v1/videos/01900000-0000-7000-8000-000000000000/comments', headers, payload });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body.type).toMatch(/^docs\/errors\.md#/);
    expect(body.status).toBe(res.statusCode);
  });

  it('answers a request Node cannot parse with a 400 problem on the socket', async () => {
    const answer = parseRaw(await raw(app(), 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(answer.body).toMatchObject({ type: problemOf('BAD_REQUEST'), status: 400, code: 'BAD_REQUEST' });
  });

  it('answers headers over the size limit with a 431 HEADERS_TOO_LARGE problem', async () => {
    const answer = parseRaw(await raw(app(), `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`));
    expect(answer.status).toBe(431);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(answer.body).toMatchObject({ type: problemOf('HEADERS_TOO_LARGE'), status: 431, code: 'HEADERS_TOO_LARGE' });
  });
});

it('logs a framework error at info with its code (a client mistake, not a server failure)', () => {
  const line = lines.find((l) => l['code'] === 'MALFORMED_URL');
  expect(line).toMatchObject({ status: 400 });
  expect(lines.some((l) => l['level'] === 'error' || l['level'] === 50)).toBe(false);
});
