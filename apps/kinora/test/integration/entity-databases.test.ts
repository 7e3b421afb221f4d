import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { loadConfig } from '@kinora/config';
import { Database, LSN_HEADER, openDatabase, parseLsnToken, runMigrations } from '@kinora/db';
import { createInProcessEventBus, eventsMigrationsDir, type InProcessEventBus } from '@kinora/events';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, type TestDatabase } from '@kinora/testing';
import { buildKinora } from '../../src/app.js';

// Per-entity databases in one process: the users entity on a database of its own (with its replica), everything
// else (videos, social, the in-process event log) on the process's database. Channels and display names cross the
// boundary through the user module's API, never through SQL.
let mainDb: TestDatabase;
let usersDb: TestDatabase;
let main: Database;
let users: Database;
let bus: InProcessEventBus;
let app: FastifyInstance;

beforeAll(async () => {
  [mainDb, usersDb] = await Promise.all([createTestDatabase('kinora_entity_main'), createTestDatabase('kinora_entity_users')]);
  main = new Database({ primaryUrl: mainDb.url, replicaUrls: [mainDb.replicaUrl] });
  users = new Database({ name: 'users', primaryUrl: usersDb.url, replicaUrls: [usersDb.replicaUrl] });
  await runMigrations(main.primary, { schema: 'events', dir: eventsMigrationsDir });
  bus = createInProcessEventBus({ pool: main.primary, heartbeatIntervalMs: 500 });
  const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', KINORA_SERVICES: 'user,comment,like,subscription', RATE_LIMIT_AUTH: 'off', RATE_LIMIT_GENERAL: 'off' });
  app = await buildKinora(config, { database: main, databases: { users }, bus, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 } });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await Promise.all([main?.close(), users?.close()]);
  await Promise.all([mainDb?.drop(), usersDb?.drop()]);
});

const json = (r: LightMyRequestResponse): any => JSON.parse(r.body);

async function schemasOf(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ s: string }>("SELECT nspname AS s FROM pg_namespace WHERE nspname IN ('users', 'subscriptions', 'comments', 'likes', 'events') ORDER BY 1");
    return rows.map((r) => r.s);
  } finally {
    await c.end();
  }
}

describe('per-entity databases in the all-in-one process', () => {
  it('keeps each entity in its own database and works across them', async () => {
    const suffix = Date.now().toString(36);
    const reg = async (name: string) => {
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { username: `${name}_${suffix}`, email: `${name}_${suffix}@example.com`, password: 'correct horse battery', displayName: name } });
      expect(res.statusCode).toBe(201);
      // The write was on the users database: the token names it.
      const token = res.headers[LSN_HEADER] as string;
      expect([...parseLsnToken(token).keys()]).toEqual(['users']);
      const body = json(res);
      return { id: body.user.id as string, channelId: body.user.channelId as string, token, headers: { authorization: `Bearer ${body.accessToken}` } };
    };
    const alice = await reg('alice');
    const bob = await reg('bob');

    // A subscription (videos database) checked against a channel of the users database, through the user module.
    const sub = await app.inject({ method: 'PUT', url: `/api/v1/channels/${alice.channelId}/subscription`, headers: { ...bob.headers, [LSN_HEADER]: bob.token } });
    expect(sub.statusCode).toBe(204);
    const token = parseLsnToken(sub.headers[LSN_HEADER] as string);
    expect([...token.keys()].sort()).toEqual(['main', 'users']);
    expect(token.get('users')).toBe(parseLsnToken(bob.token).get('users'));

    const mine = json(await app.inject({ method: 'GET', url: '/api/v1/users/me/subscriptions', headers: { ...bob.headers, [LSN_HEADER]: sub.headers[LSN_HEADER] as string } }));
    expect(mine.items).toEqual([expect.objectContaining({ id: alice.channelId, name: 'alice', ownerId: alice.id })]);

    expect(await schemasOf(usersDb.url)).toEqual(['users']);
    expect(await schemasOf(mainDb.url)).toEqual(expect.arrayContaining(['events', 'subscriptions']));
    expect(await schemasOf(mainDb.url)).not.toContain('users');
  });

  it('reports each database in /readyz', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
  });

  it('openDatabase opens the entity database that the configuration names', async () => {
    const config = loadConfig({ DATABASE_URL: mainDb.url, USERS_DATABASE_URL: usersDb.url });
    const opened = await openDatabase(config, createLogger({ level: 'silent' }), 'kinora-user', 'users');
    try {
      expect(opened.database.name).toBe('users');
      const { rows } = await opened.database.primary.query<{ db: string }>('SELECT current_database() AS db');
      expect(rows[0]!.db).toBe(usersDb.name);
    } finally {
      await opened.close();
    }
  });
});
