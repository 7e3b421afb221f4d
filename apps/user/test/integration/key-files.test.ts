// Signing keys from a folder of PEM files (JWT_KEYS_DIR, a mounted Kubernetes Secret) instead of the database:
// tokens carry the RFC 7638 thumbprint of active.pem as kid and verify against the JWKS; other key files are
// published; a change of the files (in place, or the kubelet's `..data` symlink swap) is picked up while running;
// a bad folder stops the start with the file's name. No key row is written.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { loadConfig } from '@kinora/config';
import { Database } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createTestDatabase, waitUntil, type TestDatabase } from '@kinora/testing';
import { buildApp, createUserModule, KeyDirectory, KeyFileError, KeysFromFilesError } from '../../src/index.js';

const PASSWORD = 'correct horse battery';
const ISSUER = 'http://kinora.test';
let tdb: TestDatabase;
let database: Database;
let seq = 0;
const dirs: string[] = [];

function ed25519(): { pem: string; kid: Promise<string> } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, kid: calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK) };
}

/** EC P-256 in SEC1 ("EC PRIVATE KEY"), the form Helm's genPrivateKey "ecdsa" writes. */
function p256(type: 'sec1' | 'pkcs8' = 'sec1'): { pem: string; kid: Promise<string> } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  return { pem: privateKey.export({ type, format: 'pem' }) as string, kid: calculateJwkThumbprint({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! }) };
}

function keyDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kinora-jwt-keys-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { mode: 0o600 });
  return dir;
}

const silent = createLogger({ level: 'silent' });

beforeAll(async () => {
  tdb = await createTestDatabase('user_key_files');
  database = new Database({ primaryUrl: tdb.url, poolMax: 5 });
});

afterAll(async () => {
  await database?.close();
  await tdb?.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dir: string): Promise<FastifyInstance> {
  const config = loadConfig({ PUBLIC_URL: ISSUER, JWT_KEYS_DIR: dir, LOG_LEVEL: 'silent' });
  const app = await buildApp(config, { database, logger: silent, scrypt: { N: 1024, r: 8, p: 1 }, keyCacheMs: 100, keyDirPollMs: 50 });
  await app.ready();
  return app;
}

async function registerAndLogin(app: FastifyInstance): Promise<string> {
  const username = `keys${process.pid}_${Date.now().toString(36)}${seq++}`.slice(0, 30);
  const reg = await app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { username, email: `${username}@example.com`, password: PASSWORD } });
  expect(reg.statusCode).toBe(201);
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { login: username, password: PASSWORD } });
  expect(login.statusCode).toBe(200);
  return (JSON.parse(login.body) as { accessToken: string }).accessToken;
}

async function jwks(app: FastifyInstance): Promise<JSONWebKeySet> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  expect(res.statusCode).toBe(200);
  return JSON.parse(res.body) as JSONWebKeySet;
}

async function verifies(app: FastifyInstance, token: string): Promise<void> {
  await jwtVerify(token, createLocalJWKSet(await jwks(app)), { issuer: ISSUER });
  const me = await app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: `Bearer ${token}` } });
  expect(me.statusCode).toBe(200);
}

async function keyRows(): Promise<number> {
  const { rows } = await database.primary.query<{ n: number }>('SELECT count(*)::int AS n FROM users.signing_keys');
  return rows[0]!.n;
}

describe('the user service with JWT_KEYS_DIR', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('signs with active.pem (Ed25519, kid = its thumbprint), publishes it, writes no key row', async () => {
    const key = ed25519();
    app = await start(keyDir({ 'active.pem': key.pem }));
    const token = await registerAndLogin(app);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', kid: await key.kid, typ: 'at+jwt' });
    const set = await jwks(app);
    expect(set.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: await key.kid, alg: 'EdDSA', use: 'sig' }]);
    await verifies(app, token);
    expect(await keyRows()).toBe(0);
  });

  it('signs ES256 with an EC P-256 key in SEC1 form (Helm genPrivateKey "ecdsa")', async () => {
    const key = p256('sec1');
    expect(key.pem).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    app = await start(keyDir({ 'active.pem': key.pem }));
    const token = await registerAndLogin(app);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: await key.kid });
    expect((await jwks(app)).keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', kid: await key.kid, alg: 'ES256' })]);
    await verifies(app, token);
  });

  it('publishes a key file added while running, and a switch of active.pem signs with the new kid while old tokens still verify', async () => {
    const first = ed25519();
    const second = p256('pkcs8');
    const dir = keyDir({ 'active.pem': first.pem });
    app = await start(dir);
    const before = await registerAndLogin(app);
    expect(decodeProtectedHeader(before).kid).toBe(await first.kid);

    // Step 1 of a rotation: publish the next key before it signs.
    writeFileSync(join(dir, 'next.pem'), second.pem);
    await waitUntil('next.pem published', async () => (await jwks(app!)).keys.length === 2, { timeoutMs: 5_000, intervalMs: 50 });
    expect((await jwks(app)).keys.map((k) => k.kid)).toEqual([await first.kid, await second.kid]);
    expect(decodeProtectedHeader(await registerAndLogin(app)).kid).toBe(await first.kid);

    // Step 2: the next key becomes active, the old one stays published as previous.pem.
    writeFileSync(join(dir, 'previous.pem'), first.pem);
    writeFileSync(join(dir, 'active.pem'), second.pem);
    await waitUntil('active.pem switched', async () => (await jwks(app!)).keys[0]?.kid === (await second.kid), { timeoutMs: 5_000, intervalMs: 50 });
    const after = await registerAndLogin(app);
    expect(decodeProtectedHeader(after)).toMatchObject({ alg: 'ES256', kid: await second.kid });
    await verifies(app, after);
    await verifies(app, before);
    // The same key under two names is published once.
    expect((await jwks(app)).keys.map((k) => k.kid).sort()).toEqual([await first.kid, await second.kid].sort());

    // Step 3: the old key is removed: its tokens stop verifying.
    unlinkSync(join(dir, 'previous.pem'));
    unlinkSync(join(dir, 'next.pem'));
    await waitUntil('previous.pem dropped', async () => (await jwks(app!)).keys.length === 1, { timeoutMs: 5_000, intervalMs: 50 });
    await expect(jwtVerify(before, createLocalJWKSet(await jwks(app)), { issuer: ISSUER })).rejects.toThrow(/no applicable key found/);
    expect(await keyRows()).toBe(0);
  });

  it('follows a Kubernetes Secret volume update (a new timestamped folder, then the ..data symlink swapped)', async () => {
    const first = ed25519();
    const second = ed25519();
    const dir = keyDir({});
    // The kubelet's layout: ..<timestamp>/<key>, ..data -> ..<timestamp>, <key> -> ..data/<key>.
    mkdirSync(join(dir, '..2026_12_06_01'));
    writeFileSync(join(dir, '..2026_12_06_01', 'active.pem'), first.pem);
    symlinkSync('..2026_12_06_01', join(dir, '..data'));
    symlinkSync('..data/active.pem', join(dir, 'active.pem'));
    app = await start(dir);
    expect(decodeProtectedHeader(await registerAndLogin(app)).kid).toBe(await first.kid);

    mkdirSync(join(dir, '..2026_12_06_02'));
    writeFileSync(join(dir, '..2026_12_06_02', 'active.pem'), second.pem);
    symlinkSync('..2026_12_06_02', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_12_06_01'), { recursive: true });
    await waitUntil('new Secret data read', async () => (await jwks(app!)).keys[0]?.kid === (await second.kid), { timeoutMs: 5_000, intervalMs: 50 });
    expect(decodeProtectedHeader(await registerAndLogin(app)).kid).toBe(await second.kid);
  });

  it('keeps signing with the keys it has when a change cannot be read, and logs it', async () => {
    const key = ed25519();
    const dir = keyDir({ 'active.pem': key.pem });
    const errors: string[] = [];
    const kd = await KeyDirectory.open(dir, { pollMs: 0, log: { info: () => {}, error: (obj) => errors.push(JSON.stringify(obj)) } });
    writeFileSync(join(dir, 'active.pem'), 'not a key');
    expect(await kd.check()).toBe(false);
    expect(kd.current().signer.kid).toBe(await key.kid);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(join(dir, 'active.pem'));
    // Unchanged since: not read (nor logged) again.
    expect(await kd.check()).toBe(false);
    expect(errors).toHaveLength(1);
    writeFileSync(join(dir, 'active.pem'), key.pem);
    expect(await kd.check()).toBe(true);
    kd.close();
  });

  it('refuses a rotation through the service (keys:rotate)', async () => {
    const mod = await createUserModule({ database, config: { publicUrl: ISSUER, accessTokenTtlSec: 60, refreshTokenTtlSec: 600, jwtKeysDir: keyDir({ 'active.pem': ed25519().pem }) } });
    try {
      await expect(mod.tokens.rotate()).rejects.toThrow(KeysFromFilesError);
      expect(await keyRows()).toBe(0);
    } finally {
      mod.close();
    }
  });
});

describe('a bad key folder fails the start, naming the file', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  const publicOnly = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const encrypted = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }) as string;
  const truncated = ed25519().pem.slice(0, 60) + '\n-----END PRIVATE KEY-----\n';

  it.each([
    ['a missing folder', () => join(tmpdir(), `kinora-no-such-dir-${process.pid}`), '', /the folder JWT_KEYS_DIR cannot be read \(ENOENT\)/],
    ['no active.pem', () => keyDir({ 'old.pem': ed25519().pem }), 'active.pem', /missing: JWT_KEYS_DIR must hold the signing key as active.pem \(found old.pem\)/],
    ['not PEM', () => keyDir({ 'active.pem': 'hello' }), 'active.pem', /not a PEM key/],
    ['a broken PEM', () => keyDir({ 'active.pem': truncated }), 'active.pem', /not a readable PEM private key/],
    ['an RSA key', () => keyDir({ 'active.pem': rsa }), 'active.pem', /unsupported key type rsa \(supported: Ed25519, EC P-256\)/],
    ['an EC P-384 key among the published ones', () => keyDir({ 'active.pem': ed25519().pem, 'old.pem': p384 }), 'old.pem', /unsupported key type EC secp384r1/],
    ['a public key as active.pem', () => keyDir({ 'active.pem': publicOnly }), 'active.pem', /a public key: the active key must be a private key/],
    ['an encrypted key', () => keyDir({ 'active.pem': encrypted }), 'active.pem', /an encrypted private key/],
  ])('%s', async (_what, makeDir, file, reason) => {
    const dir = makeDir();
    const config = loadConfig({ PUBLIC_URL: ISSUER, JWT_KEYS_DIR: dir, LOG_LEVEL: 'silent' });
    const err = await createUserModule({ database, config, logger: silent }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KeyFileError);
    expect((err as KeyFileError).file).toBe(file ? join(dir, file) : dir);
    expect((err as Error).message).toMatch(new RegExp(`^JWT key file ${(file ? join(dir, file) : dir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect((err as Error).message).toMatch(reason);
  });

  it('a published-only key may be a public key', async () => {
    const kd = await KeyDirectory.open(keyDir({ 'active.pem': ed25519().pem, 'old.pub.pem': publicOnly }), { pollMs: 0 });
    expect(kd.current().jwks.keys).toHaveLength(2);
    kd.close();
  });
});
