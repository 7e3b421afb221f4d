import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWK } from 'jose';
import pg from 'pg';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, waitForReplica, type TestDatabase } from '@kinora/testing';
import { buildApp } from '../../src/app.js';
import { ACCESS_TOKEN_AUDIENCE } from '@kinora/auth';

const PASSWORD = 'correct horse battery';
let tdb: TestDatabase;
let database: Database;
let app: FastifyInstance;
let seq = 0;

const config = loadConfig({ PUBLIC_URL: 'http://kinora.test', ACCESS_TOKEN_TTL_SEC: '600', LOG_LEVEL: 'silent' });

beforeAll(async () => {
  tdb = await createTestDatabase('identity');
  database = new Database({ primaryUrl: tdb.url, replicaUrls: [tdb.replicaUrl], poolMax: 20 });
  app = await buildApp(config, { database, logger: createLogger({ level: 'silent' }), scrypt: { N: 1024, r: 8, p: 1 }, keyCacheMs: 200 });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await database?.close();
  await tdb?.drop();
});

const json = (r: LightMyRequestResponse): any => JSON.parse(r.body);

function uniqueName(prefix = 'user'): string {
  return `${prefix}${process.pid}_${Date.now().toString(36)}${seq++}`.slice(0, 30);
}

async function register(overrides: Record<string, unknown> = {}) {
  const username = uniqueName();
  const body = { username, email: `${username}@example.com`, password: PASSWORD, ...overrides };
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: body });
  return { res, body: json(res), input: body };
}

function expectProblem(res: LightMyRequestResponse, status: number, code?: string): any {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const p = json(res);
  expect(p).toEqual(expect.objectContaining({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) }));
  if (code) expect(p.code).toBe(code);
  expect(res.body).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack frames
  expect(res.body).not.toMatch(/SELECT|INSERT|duplicate key|constraint/i); // no SQL
  return p;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('registration', () => {
  it('creates the user and its channel and returns a token pair', async () => {
    const { res, body, input } = await register({ displayName: 'Alice A.' });
    expect(res.statusCode).toBe(201);
    expect(body.user).toEqual({
      id: expect.any(String),
      username: input.username,
      email: input.email,
      displayName: 'Alice A.',
      channelId: expect.any(String),
      createdAt: expect.any(String),
    });
    expect(body.expiresIn).toBe(600);
    expect(typeof body.refreshToken).toBe('string');
    const header = decodeProtectedHeader(body.accessToken);
    expect(header.alg).toBe('EdDSA');
    expect(header.kid).toEqual(expect.any(String));
    const claims = decodeJwt(body.accessToken);
    expect(claims.sub).toBe(body.user.id);
    expect(claims.iss).toBe('http://kinora.test');

    const channel = await app.inject({ method: 'GET', url: `/api/v1/channels/${body.user.channelId}`, headers: bearer(body.accessToken) });
    expect(channel.statusCode).toBe(200);
    expect(json(channel)).toEqual(
      expect.objectContaining({ id: body.user.channelId, handle: input.username, name: 'Alice A.', ownerId: body.user.id, subscriberCount: 0, videoCount: 0 }),
    );
  });

  it('stores only a salted slow hash of the password and a hash of the refresh token', async () => {
    const { body } = await register();
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    try {
      const u = await c.query('SELECT password_hash FROM users.users WHERE id = $1', [body.user.id]);
      expect(u.rows[0].password_hash).toMatch(/^scrypt\$/);
      expect(u.rows[0].password_hash).not.toContain(PASSWORD);
      const t = await c.query('SELECT token_hash FROM users.refresh_tokens rt JOIN users.sessions s ON s.id = rt.session_id WHERE s.user_id = $1', [body.user.id]);
      expect(t.rowCount).toBe(1);
      expect(Buffer.from(t.rows[0].token_hash).toString()).not.toContain(body.refreshToken);
    } finally {
      await c.end();
    }
  });

  it('answers 400 with field errors for invalid input', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { username: 'a!', email: 'nope', password: 'short' } });
    const p = expectProblem(res, 400, 'VALIDATION_FAILED');
    const fields = p.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(['/body/email', '/body/password', '/body/username']);
  });

  it('answers 400 when a required field is missing', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { username: 'someone' } });
    const p = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(p.errors).toEqual(expect.arrayContaining([{ field: '/body/email', message: 'is required' }, { field: '/body/password', message: 'is required' }]));
  });

  it.each([['password'], ['aaaaaaaaaaaa']])('refuses the weak password %s with a field error', async (password) => {
    const { res } = await register({ password });
    const p = expectProblem(res, 400, 'WEAK_PASSWORD');
    expect(p.errors[0].field).toBe('/body/password');
  });

  it('refuses a password containing the username', async () => {
    const username = uniqueName('weak');
    const { res } = await register({ username, email: `${username}@example.com`, password: `${username}!!` });
    expectProblem(res, 400, 'WEAK_PASSWORD');
  });

  it('answers 409 for a taken username, without regard to case, and for a taken email', async () => {
    const first = await register();
    const dupName = await register({ username: first.input.username.toUpperCase(), email: `other_${first.input.email}` });
    expectProblem(dupName.res, 409, 'USERNAME_TAKEN');
    const dupEmail = await register({ email: first.input.email.toUpperCase() });
    expectProblem(dupEmail.res, 409, 'EMAIL_TAKEN');
  });

  it('lets exactly one of many concurrent registrations of one username win', async () => {
    const username = uniqueName('race');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { username, email: `${username}.${i}@example.com`, password: PASSWORD } }),
      ),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(11);
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    const n = await c.query('SELECT count(*)::int AS n FROM users.users WHERE lower(username) = lower($1)', [username]);
    const ch = await c.query('SELECT count(*)::int AS n FROM users.channels WHERE lower(handle) = lower($1)', [username]);
    await c.end();
    expect(n.rows[0].n).toBe(1);
    expect(ch.rows[0].n).toBe(1);
  });
});

describe('login', () => {
  it('signs in by username or email, without regard to case', async () => {
    const { input, body } = await register();
    for (const login of [input.username, input.email.toUpperCase()]) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login, password: PASSWORD } });
      expect(res.statusCode).toBe(200);
      expect(json(res).user.id).toBe(body.user.id);
    }
  });

  it('gives one generic 401 for a wrong password and for an unknown user', async () => {
    const { input } = await register();
    const wrong = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login: input.username, password: 'not the password' } });
    const unknown = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login: 'nobody-here', password: PASSWORD } });
    const a = expectProblem(wrong, 401, 'INVALID_CREDENTIALS');
    const b = expectProblem(unknown, 401, 'INVALID_CREDENTIALS');
    expect(a.detail).toBe(b.detail);
    expect(a.title).toBe(b.title);
  });

  it('spends comparable time for unknown users and wrong passwords', async () => {
    const { input } = await register();
    const time = async (login: string): Promise<number> => {
      const t = process.hrtime.bigint();
      await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login, password: 'not the password' } });
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 7; i++) {
      known.push(await time(input.username));
      unknown.push(await time(`ghost_${i}_${input.username}`.slice(0, 30)));
    }
    const ratio = median(unknown) / median(known);
    // Without the dummy hash an unknown user answers ~10x faster (no scrypt at all).
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});

describe('refresh tokens', () => {
  it('rotates: a refresh returns a new pair and the old token is spent', async () => {
    const { body } = await register();
    const r1 = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } });
    expect(r1.statusCode).toBe(200);
    const pair = json(r1);
    expect(pair.refreshToken).not.toBe(body.refreshToken);
    expect(pair.user.id).toBe(body.user.id);
    const me = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(pair.accessToken) });
    expect(me.statusCode).toBe(200);
  });

  it('revokes the whole login when a spent token is presented again', async () => {
    const { body } = await register();
    const r1 = json(await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } }));
    const reuse = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } });
    expectProblem(reuse, 401, 'INVALID_REFRESH_TOKEN');
    // The legitimate successor is revoked too: the family is gone.
    const next = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: r1.refreshToken } });
    expectProblem(next, 401, 'INVALID_REFRESH_TOKEN');
  });

  it('keeps other logins of the same user alive when one family is revoked', async () => {
    const { body, input } = await register();
    const other = json(await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login: input.username, password: PASSWORD } }));
    await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } });
    await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } }); // reuse
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: other.refreshToken } });
    expect(res.statusCode).toBe(200);
  });

  it('lets only one of two concurrent refreshes with one token succeed', async () => {
    const { body } = await register();
    const [a, b] = await Promise.all([
      app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } }),
      app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 401]);
  });

  it('refuses unknown and malformed refresh tokens', async () => {
    expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: 'krt_nope' } }), 401, 'INVALID_REFRESH_TOKEN');
    expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: {} }), 400, 'VALIDATION_FAILED');
  });

  it('logout revokes the login; logging out twice or with an unknown token is still 204', async () => {
    const { body } = await register();
    const out = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', payload: { refreshToken: body.refreshToken } });
    expect(out.statusCode).toBe(204);
    expect(out.body).toBe('');
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/logout', payload: { refreshToken: body.refreshToken } })).statusCode).toBe(204);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/logout', payload: { refreshToken: 'krt_unknown' } })).statusCode).toBe(204);
    expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } }), 401);
  });
});

describe('users/me', () => {
  it('needs a valid access token', async () => {
    expectProblem(await app.inject({ method: 'GET', url: '/api/v1/users/me' }), 401, 'UNAUTHENTICATED');
    expectProblem(await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: 'Basic abc' } }), 401, 'INVALID_TOKEN');
  });

  it('rejects tampered, alg:none, foreign-key and expired tokens', async () => {
    const { body } = await register();
    const [h, p, s] = body.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-7000-8000-000000000000' })).toString('base64url');
    const tampered = `${h}.${forgedPayload}.${s}`;
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    for (const token of [tampered, none, `${h}.${p}.${s!.slice(0, -4)}AAAA`]) {
      const res = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(token) });
      expectProblem(res, 401, 'INVALID_TOKEN');
    }

    // Signed by the service's own key but expired.
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    const key = (await c.query('SELECT kid, private_jwk FROM users.signing_keys WHERE retired_at IS NULL')).rows[0];
    await c.end();
    const signingKey = await importJWK(key.private_jwk as JWK, 'EdDSA');
    const base = new SignJWT({ name: claims.name, sid: claims.sid }).setSubject(claims.sub).setIssuer('http://kinora.test').setAudience(ACCESS_TOKEN_AUDIENCE);
    const expired = await base
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
      .sign(signingKey);
    expectProblem(await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(expired) }), 401, 'TOKEN_EXPIRED');
    const wrongAudience = await new SignJWT({ name: claims.name, sid: claims.sid })
      .setSubject(claims.sub)
      .setIssuer('http://kinora.test')
      .setAudience('someone-else')
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signingKey);
    expectProblem(await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(wrongAudience) }), 401, 'INVALID_TOKEN');
  });

  it('updates the display name and reads it back at once (read-your-writes with a replica)', async () => {
    const { body } = await register();
    for (let i = 0; i < 5; i++) {
      const name = `Name ${i}`;
      const patch = await app.inject({ method: 'PATCH', url: '/api/v1/users/me', headers: bearer(body.accessToken), payload: { displayName: name } });
      expect(patch.statusCode).toBe(200);
      expect(json(patch).displayName).toBe(name);
      const me = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(body.accessToken) });
      expect(json(me).displayName).toBe(name);
    }
  });

  it('changes the password: the new one signs in, the old one does not, other logins are revoked', async () => {
    const { body, input } = await register();
    const other = json(await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login: input.username, password: PASSWORD } }));
    const newPassword = 'another long passphrase';
    const res = await app.inject({ method: 'PATCH', url: '/api/v1/users/me', headers: bearer(body.accessToken), payload: { password: newPassword } });
    expect(res.statusCode).toBe(200);
    expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login: input.username, password: PASSWORD } }), 401);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login: input.username, password: newPassword } })).statusCode).toBe(200);
    expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: other.refreshToken } }), 401);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } })).statusCode).toBe(200);
  });

  it('refuses a wrong currentPassword, a weak new password and an empty patch', async () => {
    const { body } = await register();
    expectProblem(
      await app.inject({ method: 'PATCH', url: '/api/v1/users/me', headers: bearer(body.accessToken), payload: { password: 'brand new secret', currentPassword: 'wrong one' } }),
      403,
      'WRONG_CURRENT_PASSWORD',
    );
    expectProblem(await app.inject({ method: 'PATCH', url: '/api/v1/users/me', headers: bearer(body.accessToken), payload: { password: 'password' } }), 400, 'WEAK_PASSWORD');
    expectProblem(await app.inject({ method: 'PATCH', url: '/api/v1/users/me', headers: bearer(body.accessToken), payload: {} }), 400, 'VALIDATION_FAILED');
    expectProblem(await app.inject({ method: 'PATCH', url: '/api/v1/users/me', headers: bearer(body.accessToken), payload: { displayName: 'x'.repeat(101) } }), 400);
  });
});

describe('read-your-writes while the replica lags', () => {
  // Regression: a refresh (an unauthenticated write) followed by GET /users/me read a lagging replica and got 404.
  it('serves a new login its own account from the primary while replay is paused', async () => {
    const replica = new pg.Client({ connectionString: tdb.replicaUrl });
    await replica.connect();
    await replica.query('SELECT pg_wal_replay_pause()');
    try {
      const { body } = await register();
      // The replica does not have the new channel yet: the lag is real.
      expect((await replica.query('SELECT 1 FROM users.channels WHERE id = $1', [body.user.channelId])).rowCount).toBe(0);
      // Channel reads go through the cache, whose fills read the primary: even an anonymous reader sees it.
      expect((await app.inject({ method: 'GET', url: `/api/v1/channels/${body.user.channelId}` })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(body.accessToken) })).statusCode).toBe(200);
      const pair = json(await app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken: body.refreshToken } }));
      expect((await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(pair.accessToken) })).statusCode).toBe(200);
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()');
      await replica.end();
    }
  });
});

describe('channels', () => {
  it('lets the owner change the channel; others get 403, anonymous 401', async () => {
    const owner = (await register()).body;
    const other = (await register()).body;
    const url = `/api/v1/channels/${owner.user.channelId}`;
    const ok = await app.inject({ method: 'PATCH', url, headers: bearer(owner.accessToken), payload: { name: 'My films', description: 'All about films' } });
    expect(ok.statusCode).toBe(200);
    expect(json(ok)).toEqual(expect.objectContaining({ name: 'My films', description: 'All about films' }));
    // The owner reads its own write at once (primary); anonymous readers once the replica has replayed it.
    expect(json(await app.inject({ method: 'GET', url, headers: bearer(owner.accessToken) })).name).toBe('My films');
    expectProblem(await app.inject({ method: 'PATCH', url, headers: bearer(other.accessToken), payload: { name: 'Hijacked' } }), 403, 'NOT_CHANNEL_OWNER');
    expectProblem(await app.inject({ method: 'PATCH', url, payload: { name: 'Hijacked' } }), 401);
    await waitForReplica(tdb.url, tdb.replicaUrl);
    expect(json(await app.inject({ method: 'GET', url })).name).toBe('My films');
  });

  it('answers 404 for an unknown channel and 400 for a malformed id', async () => {
    const { body } = await register();
    expectProblem(await app.inject({ method: 'GET', url: '/api/v1/channels/01900000-0000-7000-8000-000000000000' }), 404, 'CHANNEL_NOT_FOUND');
    expectProblem(
      await app.inject({ method: 'PATCH', url: '/api/v1/channels/01900000-0000-7000-8000-000000000000', headers: bearer(body.accessToken), payload: { name: 'x' } }),
      404,
    );
    expectProblem(await app.inject({ method: 'GET', url: '/api/v1/channels/not-a-uuid' }), 400, 'VALIDATION_FAILED');
  });
});

describe('request hygiene', () => {
  it('answers 413 for a body over 1 MiB', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ login: 'x', password: 'y'.repeat(1024 * 1024 + 10) }),
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 400 for malformed JSON and 415 for a non-JSON body', async () => {
    expectProblem(
      await app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"login": "x",' }),
      400,
      'MALFORMED_BODY',
    );
    expectProblem(await app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'text/plain' }, payload: 'hello' }), 415);
  });

  it('answers unknown routes with a 404 problem and echoes the request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/nothing-here', headers: { 'x-request-id': 'abc-123' } });
    expectProblem(res, 404, 'NOT_FOUND');
    expect(res.headers['x-request-id']).toBe('abc-123');
    const fresh = await app.inject({ method: 'GET', url: '/healthz' });
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('signing key rotation', () => {
  it('publishes a rotated-in key at once, signs with it only from its activation, and keeps the previous key published', async () => {
    const { body, input } = await register();
    const oldKid = decodeProtectedHeader(body.accessToken).kid;
    const before = json(await app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
    expect(before.keys.map((k: { kid: string }) => k.kid)).toContain(oldKid);
    for (const k of before.keys) expect(k.d).toBeUndefined();

    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    try {
      // Rotate through the service (as the `keys:rotate` command does).
      const { createUserModule } = await import('../../src/app.js');
      const mod = await createUserModule({ database, config, keyCacheMs: 200 });
      const { KEY_PUBLICATION_LEAD_SEC } = await import('../../src/services/token.service.js');
      const t0 = Date.now();
      const { kid: newKid, activeFrom } = await mod.tokens.rotate();
      expect(newKid).not.toBe(oldKid);
      // Ahead by the verifiers' JWKS refresh time (10 min) and a minute.
      expect(activeFrom.getTime() - t0).toBeGreaterThan((KEY_PUBLICATION_LEAD_SEC - 5) * 1000);
      expect(KEY_PUBLICATION_LEAD_SEC).toBeGreaterThanOrEqual(660);
      await new Promise((r) => setTimeout(r, 300)); // the app instance's key cache (200 ms here, 10 s by default)

      // Published at once, so that every verifier knows it before it signs anything; the old key still signs.
      const published = json(await app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
      expect(published.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
      const meanwhile = await mod.accounts.login(input.username, PASSWORD);
      expect(decodeProtectedHeader(meanwhile.accessToken).kid).toBe(oldKid);

      // Its activation comes (moved to the past here instead of waiting 11 minutes): new tokens are signed with it.
      await c.query(`UPDATE users.signing_keys SET retired_at = now() - interval '1 second' WHERE kid = $1`, [oldKid]);
      await c.query(`UPDATE users.signing_keys SET active_from = now() - interval '1 second' WHERE kid = $1`, [newKid]);
      await new Promise((r) => setTimeout(r, 300));
      const after = json(await app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
      expect(after.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
      const oldTokenStillWorks = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(body.accessToken) });
      expect(oldTokenStillWorks.statusCode).toBe(200);
      const fresh = await mod.accounts.login(input.username, PASSWORD);
      expect(decodeProtectedHeader(fresh.accessToken).kid).toBe(newKid);
      expect((await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(fresh.accessToken) })).statusCode).toBe(200);

      // Once the old key's publication ends, its tokens stop verifying.
      await c.query(`UPDATE users.signing_keys SET publish_until = now() - interval '1 second' WHERE kid = $1`, [oldKid]);
      await mod.tokens.rotate(); // the old key is pruned
      const { rows } = await c.query('SELECT kid FROM users.signing_keys WHERE kid = $1', [oldKid]);
      expect(rows).toHaveLength(0);
      await new Promise((r) => setTimeout(r, 300));
      const gone = json(await app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
      expect(gone.keys.map((k: { kid: string }) => k.kid)).not.toContain(oldKid);
      expectProblem(await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(body.accessToken) }), 401, 'INVALID_TOKEN');
    } finally {
      await c.end();
    }
  });

  it('keeps exactly one key signing across rotations: a second rotation replaces a key not signing yet, --now signs at once', async () => {
    const { input } = await register();
    const { createUserModule } = await import('../../src/app.js');
    const mod = await createUserModule({ database, config, keyCacheMs: 200 });
    const signingKid = async () => decodeProtectedHeader((await mod.accounts.login(input.username, PASSWORD)).accessToken).kid;
    const current = await signingKid();
    const first = await mod.tokens.rotate();
    const second = await mod.tokens.rotate();
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    try {
      // The first rotated-in key never signed: it is gone; the current key signs until the second one's activation.
      const { rows } = await c.query<{ kid: string; signing: boolean; retires: boolean }>(
        `SELECT kid, (active_from <= now() AND (retired_at IS NULL OR retired_at > now())) AS signing, retired_at IS NOT NULL AS retires
         FROM users.signing_keys WHERE kid = ANY($1)`,
        [[current, first.kid, second.kid]],
      );
      expect(rows.map((r) => r.kid).sort()).toEqual([current, second.kid].sort());
      expect(rows.find((r) => r.kid === current)).toMatchObject({ signing: true, retires: true });
      expect(rows.find((r) => r.kid === second.kid)).toMatchObject({ signing: false, retires: false });
      expect(await signingKid()).toBe(current);

      // --now: the new key signs at once, the pending one is dropped, the old one stays published.
      const now = await mod.tokens.rotate({ now: true });
      expect(now.activeFrom.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      expect(await signingKid()).toBe(now.kid);
      const jwks = (await mod.jwks()).keys.map((k) => k.kid);
      expect(jwks).toEqual(expect.arrayContaining([current, now.kid]));
      expect(jwks).not.toContain(second.kid);
      const { rows: signing } = await c.query(
        `SELECT kid FROM users.signing_keys WHERE active_from <= now() AND (retired_at IS NULL OR retired_at > now())`,
      );
      expect(signing.map((r: { kid: string }) => r.kid)).toEqual([now.kid]);
    } finally {
      await c.end();
    }
  });
});

