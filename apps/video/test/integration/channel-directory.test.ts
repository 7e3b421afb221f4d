import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, httpChannelDirectory } from '../../src/index.js';
import { silentLogger, startVideoTestEnv, testUsers, type TestUser, type TestUsers, type VideoTestEnv } from './video-harness.js';

// Creating a video asks the user service (over HTTP, with the caller's token) which channel is the caller's. When
// the user service cannot answer (its database primary is down, it refuses the token it cannot check, it is
// unreachable), creation is refused with a 503 problem that carries Retry-After: the gateways then do not count it
// against the video service, whose breaker would otherwise open and refuse the reads the video service still
// answers (the flake of the primary-outage fault scenario, issue #19).
let env: VideoTestEnv;
let users: TestUsers;
let app: FastifyInstance;
let owner: TestUser;
let userService: Server;
/** What the stand-in user service answers for GET /api/v1/users/me: a status, or a dropped connection. */
let meAnswer: number | 'drop' = 200;
/** The Kinora-Lsn header of the last GET /api/v1/users/me. */
let meLsn: string | string[] | undefined;

beforeAll(async () => {
  env = await startVideoTestEnv('video_chandir');
  users = await testUsers();
  owner = await users.register('chandir');
  userService = createServer((req, res) => {
    if (req.url === '/api/v1/users/me') {
      meLsn = req.headers['kinora-lsn'];
      if (meAnswer === 'drop') return void req.socket.destroy();
      if (meAnswer !== 200) return void res.writeHead(meAnswer, { 'content-type': 'application/problem+json' }).end('{"status":' + meAnswer + '}');
      return void res.setHeader('content-type', 'application/json').end(JSON.stringify({ id: owner.id, channelId: owner.channelId }));
    }
    if (req.url === `/api/v1/channels/${owner.channelId}`) {
      return void res.setHeader('content-type', 'application/json').end(JSON.stringify({ id: owner.channelId, handle: owner.username, name: owner.username }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => userService.listen(0, '127.0.0.1', resolve));
  const userUrl = `http://127.0.0.1:${(userService.address() as AddressInfo).port}`;
  app = await buildApp(env.config(), { database: env.database, logger: silentLogger, store: env.store, verifier: users.verifier, channels: httpChannelDirectory(userUrl, 2000) });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  userService?.closeAllConnections();
  await new Promise((resolve) => userService?.close(resolve));
  await env?.close();
});

const create = () => app.inject({ method: 'POST', url: '/api/v1/videos', headers: owner.auth, payload: { title: 'Channel lookup' } });

describe('POST /api/v1/videos while the user service cannot say which channel is the caller’s', () => {
  it.each([401, 500, 503, 'drop'] as const)('user service answers %s: 503 problem with Retry-After, what the gateways do not count against the video service', async (answer) => {
    meAnswer = answer;
    const res = await create();
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.json()).toMatchObject({ status: 503, detail: 'The channel of this account cannot be looked up right now; try again' });
    expect(res.body).not.toMatch(/\bat .+\.(ts|js):\d+|user service answered/);
  });

  it('the caller has no channel yet (404 for longer than the wait): 503 problem with Retry-After', async () => {
    meAnswer = 404;
    const res = await create();
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.json()).toMatchObject({ status: 503, detail: 'This account has no channel yet; try again in a moment' });
  });

  it('creates the video once the user service answers again', async () => {
    meAnswer = 200;
    const res = await create();
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ title: 'Channel lookup' });
    expect(meLsn).toBeUndefined();
  });

  it("passes the caller's read-your-writes token on, so that a lagging replica of the user service cannot hide a new account", async () => {
    meAnswer = 200;
    const token = 'users=0/3000060,videos=0/16B3748';
    const res = await app.inject({ method: 'POST', url: '/api/v1/videos', headers: { ...owner.auth, 'kinora-lsn': token }, payload: { title: 'After registering' } });
    expect(res.statusCode).toBe(201);
    expect(meLsn).toBe(token);
  });
});
