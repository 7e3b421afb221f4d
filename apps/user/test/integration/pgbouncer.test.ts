// The user service behind a real PgBouncer in transaction mode (Debian's pgbouncer, in front of the harness's
// primary): migrations, registration, sign-in, token refresh and reads work without session state, many clients
// share few server connections, and the statement timeout comes from the database's settings, not a session SET.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, startPgBouncer, type PgBouncerHandle, type TestDatabase } from '@kinora/testing';
import { buildApp } from '../../src/app.js';

const PASSWORD = 'correct horse battery';
const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', ACCESS_TOKEN_TTL_SEC: '600', LOG_LEVEL: 'silent' });

let tdb: TestDatabase;
let bouncer: PgBouncerHandle;
let database: Database;
let app: FastifyInstance;

beforeAll(async () => {
  tdb = await createTestDatabase('user_pgbouncer');
  // Timeouts behind PgBouncer: on the database (or role), applied when PgBouncer opens a server connection.
  const admin = new pg.Client({ connectionString: tdb.url });
  await admin.connect();
  await admin.query(`ALTER DATABASE ${tdb.name} SET statement_timeout = '4s'`);
  await admin.query(`ALTER DATABASE ${tdb.name} SET idle_in_transaction_session_timeout = '20s'`);
  await admin.end();
  bouncer = await startPgBouncer({ serverUrl: tdb.url, poolMode: 'transaction', poolSize: 3 });
  database = new Database({ primaryUrl: bouncer.url, poolMax: 20, statementTimeoutMs: 0, idleInTransactionTimeoutMs: 0 });
  app = await buildApp(config, { database, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 }, keyCacheMs: 200 });
  await app.ready();
}, 900_000);

afterAll(async () => {
  await app?.close();
  await database?.close();
  await bouncer?.stop();
  await tdb?.drop();
});

describe('user service behind PgBouncer (transaction mode)', () => {
  it('registers, signs in, refreshes and reads the account of 30 users at once over 3 server connections', async () => {
    const users = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const username = `pgb${i}_${Date.now().toString(36)}`.slice(0, 30);
        const reg = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { username, email: `${username}@example.com`, password: PASSWORD } });
        expect(reg.statusCode).toBe(201);
        const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login: username, password: PASSWORD } });
        expect(login.statusCode).toBe(200);
        const refreshed = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: login.json().refreshToken } });
        expect(refreshed.statusCode).toBe(200);
        const me = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: `Bearer ${refreshed.json().accessToken}` } });
        expect(me.statusCode).toBe(200);
        expect(me.json()).toMatchObject({ username });
        return username;
      }),
    );
    expect(new Set(users).size).toBe(30);
  }, 120_000);

  it('multiplexes: two client connections that both stay open are served by one server connection in turn', async () => {
    const solo = await startPgBouncer({ serverUrl: tdb.url, poolMode: 'transaction', poolSize: 1 });
    const a = new pg.Client({ connectionString: solo.url });
    const b = new pg.Client({ connectionString: solo.url });
    try {
      await a.connect();
      await b.connect();
      const pa = (await a.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const pb = (await b.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(pb).toBe(pa);
    } finally {
      await Promise.all([a.end(), b.end()].map((p) => p.catch(() => {})));
      await solo.stop();
    }
  }, 120_000);

  it('applies the database-level statement timeout on server connections (no session SET)', async () => {
    const { rows } = await database.primary.query<{ st: string }>("SELECT current_setting('statement_timeout') AS st");
    expect(rows[0]!.st).toBe('4s');
    await expect(database.primary.query('SELECT pg_sleep(6)')).rejects.toMatchObject({ code: '57014' });
  }, 30_000);

  it('refuses timeouts sent as startup parameters unless PgBouncer is told to ignore them (why they are 0 behind it)', async () => {
    const sending = new Database({ primaryUrl: bouncer.url, statementTimeoutMs: 30_000, idleInTransactionTimeoutMs: 0, healthIntervalMs: 60_000 });
    try {
      await expect(sending.primary.query('SELECT 1')).rejects.toThrow(/unsupported startup parameter/);
    } finally {
      await sending.close();
    }
  });
});
