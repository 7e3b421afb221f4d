import { expect } from '@jest/globals';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { TokenVerifier } from '@kinora/auth';
import { loadConfig } from '@kinora/config';
import type { VideoChangedV1 } from '@kinora/contracts';
import { Database, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir, type InProcessEventBus } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { publishVideo, TestIssuer, type TestUser } from '@kinora/projections/testing';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';
import { buildApp } from '../src/app.js';

export interface Harness {
  app: FastifyInstance;
  database: Database;
  bus: InProcessEventBus;
  issuer: TestIssuer;
  tdb: TestDatabase;
  close(): Promise<void>;
}

/** The comment service on a fresh database, the in-process bus, and a token issuer it trusts. */
export async function startCommentService(prefix: string): Promise<Harness> {
  const tdb = await createTestDatabase(prefix);
  const database = new Database({ primaryUrl: tdb.url, poolMax: 30 });
  await runMigrations(database.primary, { schema: 'events', dir: eventsMigrationsDir });
  const bus = createInProcessEventBus({ pool: database.primary, heartbeatIntervalMs: 500 });
  const issuer = await TestIssuer.create();
  const verifier = new TokenVerifier({ issuer: issuer.issuer, audience: issuer.audience, fetchJwks: () => issuer.jwks(), cooldownMs: 0 });
  const app = await buildApp(loadConfig({ PUBLIC_URL: 'http://kinora.test', LOG_LEVEL: 'silent' }), {
    database,
    logger: createLogger({ level: 'silent' }),
    bus,
    verifier,
    // Display names as the user service would give them.
    profiles: { displayName: async (id) => `Display ${id.slice(-4)}` },
    relay: { pollIntervalMs: 100 },
  });
  await app.ready();
  return {
    app,
    database,
    bus,
    issuer,
    tdb,
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
  expect(res.body).not.toMatch(/SELECT|INSERT|UPDATE |constraint|\bat .+\.(ts|js):\d+/);
  return p;
}

/** HTTP helpers of the comment routes for one harness. */
export function client(h: Harness) {
  const auth = (u?: TestUser) => (u ? { headers: u.headers } : {});
  return {
    video: (owner: TestUser, patch: Partial<VideoChangedV1> = {}) =>
      publishVideo({ bus: h.bus, pool: h.database.primary, schema: 'comments' }, { ...patch, ownerId: owner.id }).then((v) => v.videoId),
    post: (u: TestUser | undefined, videoId: string, text: string, parentId?: string) =>
      h.app.inject({ method: 'POST', url: `/api/v1/videos/${videoId}/comments`, payload: parentId ? { text, parentId } : { text }, ...auth(u) }),
    list: (u: TestUser | undefined, videoId: string, query = '') => h.app.inject({ method: 'GET', url: `/api/v1/videos/${videoId}/comments${query}`, ...auth(u) }),
    replies: (u: TestUser | undefined, id: string, query = '') => h.app.inject({ method: 'GET', url: `/api/v1/comments/${id}/replies${query}`, ...auth(u) }),
    edit: (u: TestUser | undefined, id: string, text: string) => h.app.inject({ method: 'PATCH', url: `/api/v1/comments/${id}`, payload: { text }, ...auth(u) }),
    remove: (u: TestUser | undefined, id: string) => h.app.inject({ method: 'DELETE', url: `/api/v1/comments/${id}`, ...auth(u) }),
    rate: (u: TestUser | undefined, id: string, value: string) =>
      h.app.inject({ method: 'PUT', url: `/api/v1/comments/${id}/rating`, payload: { value }, ...auth(u) }),
    /** Posts and returns the created comment (asserting 201). */
    async comment(u: TestUser, videoId: string, text: string, parentId?: string): Promise<any> {
      const res = await this.post(u, videoId, text, parentId);
      expect({ status: res.statusCode, body: res.statusCode === 201 ? '' : res.body }).toEqual({ status: 201, body: '' });
      return json(res);
    },
    /** Every page of a list, following nextCursor. */
    async all(fetch: (query: string) => Promise<LightMyRequestResponse>, limit = 100): Promise<any[]> {
      const items: any[] = [];
      let cursor: string | null = null;
      do {
        const res = await fetch(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(res.statusCode).toBe(200);
        const body = json(res);
        items.push(...body.items);
        cursor = body.nextCursor;
      } while (cursor);
      return items;
    },
  };
}
