import { expect } from '@jest/globals';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { uuidv7 } from 'uuidv7';
import { TokenVerifier } from '@kinora/auth';
import { loadConfig } from '@kinora/config';
import type { VideoChangedV1 } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir, type InProcessEventBus } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { publishVideo, TestIssuer, type TestUser } from '@kinora/projections/testing';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';
import { buildApp } from '../src/app.js';
import type { ChannelInfo } from '../src/services/channel.directory.js';

export interface Harness {
  app: FastifyInstance;
  database: Database;
  bus: InProcessEventBus;
  issuer: TestIssuer;
  /** The channels the (stubbed) user service knows. */
  channels: Map<string, ChannelInfo>;
  close(): Promise<void>;
}

/** The subscription service on a fresh database, the in-process bus, a token issuer and a channel directory stub. */
export async function startSubscriptionService(prefix: string): Promise<Harness> {
  const tdb: TestDatabase = await createTestDatabase(prefix);
  const database = new Database({ primaryUrl: tdb.url, poolMax: 30 });
  await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
  const bus = createInProcessEventBus({ pool: database.primary, heartbeatIntervalMs: 500 });
  const issuer = await TestIssuer.create();
  const channels = new Map<string, ChannelInfo>();
  const verifier = new TokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetchJwks: () => issuer.jwks(), cooldownMs: 0 });
  const app = await buildApp(loadConfig({ PUBLIC_URL: 'http://kinora.test', LOG_LEVEL: 'silent' }), {
    database,
    logger: createLogger({ level: 'silent' }),
    bus,
    verifier,
    channels: { channel: async (id) => channels.get(id) ?? null },
    relay: { pollIntervalMs: 100 },
  });
  await app.ready();
  return {
    app,
    database,
    bus,
    issuer,
    channels,
    close: async () => {
      await app.close();
      await bus.close();
      await database.close();
      await tdb.drop();
    },
  };
}

export const json = (r: LightMyRequestResponse): any => JSON.parse(r.body);

export function expectProblem(res: LightMyRequestResponse, status: number, code?: string): any {
  expect({ status: res.statusCode, body: res.statusCode === status ? '' : res.body }).toEqual({ status, body: '' });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const p = json(res);
  expect(p).toEqual(expect.objectContaining({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) }));
  if (code) expect(p.code).toBe(code);
  return p;
}

export function client(h: Harness) {
  const auth = (u?: TestUser) => (u ? { headers: u.headers } : {});
  return {
    /** A user with a channel of their own (registered in the directory stub). */
    async creator(name?: string): Promise<TestUser & { channelId: string }> {
      const user = await h.issuer.user(name);
      const channelId = uuidv7();
      h.channels.set(channelId, { id: channelId, ownerId: user.id, handle: user.username, name: `Channel of ${user.username}` });
      return { ...user, channelId };
    },
    video: (owner: { id: string; channelId: string }, patch: Partial<VideoChangedV1> = {}) =>
      publishVideo({ bus: h.bus, pool: h.database.primary, schema: 'subscriptions' }, { channelId: owner.channelId, ...patch, ownerId: owner.id }),
    subscribe: (u: TestUser | undefined, channelId: string) => h.app.inject({ method: 'PUT', url: `/api/v1/channels/${channelId}/subscription`, ...auth(u) }),
    unsubscribe: (u: TestUser | undefined, channelId: string) => h.app.inject({ method: 'DELETE', url: `/api/v1/channels/${channelId}/subscription`, ...auth(u) }),
    state: (u: TestUser | undefined, channelId: string) => h.app.inject({ method: 'GET', url: `/api/v1/channels/${channelId}/subscription`, ...auth(u) }),
    mine: (u: TestUser | undefined, query = '') => h.app.inject({ method: 'GET', url: `/api/v1/users/me/subscriptions${query}`, ...auth(u) }),
    feed: (u: TestUser | undefined, query = '') => h.app.inject({ method: 'GET', url: `/api/v1/feed/subscriptions${query}`, ...auth(u) }),
    notifications: (u: TestUser | undefined, query = '') => h.app.inject({ method: 'GET', url: `/api/v1/notifications${query}`, ...auth(u) }),
    read: (u: TestUser | undefined, body?: unknown) =>
      h.app.inject({ method: 'POST', url: '/api/v1/notifications/read', ...(body !== undefined ? { payload: body as object } : {}), ...auth(u) }),
    /** Every page of a list, following nextCursor. */
    async all(fetch: (query: string) => Promise<LightMyRequestResponse>, limit: number): Promise<any[][]> {
      const pages: any[][] = [];
      let cursor: string | null = null;
      do {
        const res = await fetch(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.statusCode).toBe(200);
        const body = json(res);
        pages.push(body.items);
        cursor = body.nextCursor;
      } while (cursor && pages.length < 1000);
      return pages;
    },
  };
}
