import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { problemPlugin } from '@kinora/http';
import { authPlugin } from './auth.plugin.js';
import { JwksCache, KeysUnavailableError } from './jwks.cache.js';
import { ACCESS_TOKEN_AUDIENCE, TokenError, TokenVerifier } from './token.verifier.js';

// The key source (the user service's signing keys, read from its database) goes down while tokens keep arriving:
// the keys already known keep verifying tokens, a token naming an unknown key is a 503 (not a 401: nothing says it
// is invalid), and the source is not hammered while it is down.
const ISSUER = 'http://kinora.test';

interface Key {
  kid: string;
  publicJwk: JWK;
  privateKey: CryptoKey;
}

async function newKey(kid: string): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { kid, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }, privateKey };
}

function sign(key: Key): Promise<string> {
  return new SignJWT({ name: 'alice', sid: 'session-1' })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .setSubject('user-1')
    .setIssuer(ISSUER)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.privateKey);
}

/** A key source that can be switched off, counting its calls. */
function source(keys: Key[]) {
  const s = {
    up: true,
    calls: 0,
    fetch: async (): Promise<JSONWebKeySet> => {
      s.calls++;
      if (!s.up) throw new Error('The database primary does not answer');
      return { keys: keys.map((k) => k.publicJwk) };
    },
  };
  return s;
}

let known: Key;
let later: Key;

beforeAll(async () => {
  known = await newKey('k-known');
  later = await newKey('k-later');
});

describe('JwksCache and TokenVerifier while the key source is down', () => {
  it('keeps verifying tokens of known keys after the cache is due for a refresh', async () => {
    const src = source([known]);
    const verifier = new TokenVerifier({ issuer: ISSUER, audience: ACCESS_TOKEN_AUDIENCE, fetchJwks: src.fetch, cooldownMs: 0, maxAgeMs: 1 });
    const token = await sign(known);
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId: 'user-1', sessionId: 'session-1' });
    src.up = false;
    await new Promise((r) => setTimeout(r, 5));
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId: 'user-1' });
    const calls = src.calls;
    // Failed fetches are not repeated on every token for a second.
    for (let i = 0; i < 20; i++) await verifier.verify(token);
    expect(src.calls).toBe(calls);
  });

  it('a token of a key not known yet: KeysUnavailableError while down, valid once the source answers', async () => {
    const keys = [known];
    const src = source(keys);
    const verifier = new TokenVerifier({ issuer: ISSUER, audience: ACCESS_TOKEN_AUDIENCE, fetchJwks: src.fetch, cooldownMs: 0, maxAgeMs: 60_000 });
    await verifier.verify(await sign(known));
    keys.push(later);
    src.up = false;
    const token = await sign(later);
    // An unknown kid refetches only once the cool-down (0 here) has passed since the last fetch: not in the same ms.
    await new Promise((r) => setTimeout(r, 5));
    const err = await verifier.verify(token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeysUnavailableError);
    expect(err).not.toBeInstanceOf(TokenError);
    expect((err as Error).message).toMatch(/primary does not answer/);
    src.up = true;
    await new Promise((r) => setTimeout(r, 1_050)); // past the retry pause after a failure
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId: 'user-1' });
  });

  it('a kid the source does not list stays an invalid token when the source answers', async () => {
    const src = source([known]);
    const verifier = new TokenVerifier({ issuer: ISSUER, audience: ACCESS_TOKEN_AUDIENCE, fetchJwks: src.fetch, cooldownMs: 0 });
    const err = await verifier.verify(await sign(later)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect((err as TokenError).reason).toBe('invalid');
  });

  it('a first fetch that fails is retried after the pause, not before', async () => {
    const src = source([known]);
    src.up = false;
    const cache = new JwksCache({ fetchJwks: src.fetch, cooldownMs: 0 });
    const header = { alg: 'EdDSA', kid: known.kid };
    await expect(cache.resolver(header)).rejects.toBeInstanceOf(KeysUnavailableError);
    await expect(cache.resolver(header)).rejects.toBeInstanceOf(KeysUnavailableError);
    expect(src.calls).toBe(1);
    src.up = true;
    await new Promise((r) => setTimeout(r, 1_050));
    await expect(cache.resolver(header)).resolves.toBeDefined();
    expect(src.calls).toBe(2);
  });
});

describe('authPlugin while the key source is down', () => {
  let app: FastifyInstance;
  let src: ReturnType<typeof source>;
  const keys: Key[] = [];

  beforeAll(async () => {
    keys.push(known);
    src = source(keys);
    const verifier = new TokenVerifier({ issuer: ISSUER, audience: ACCESS_TOKEN_AUDIENCE, fetchJwks: src.fetch, cooldownMs: 0, maxAgeMs: 1 });
    app = Fastify({ logger: false });
    await app.register(problemPlugin);
    await app.register(authPlugin, { verifier });
    app.get('/me', { preHandler: app.requireUser }, async (request) => ({ userId: request.principal!.userId }));
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
  });

  it('answers a token of a known key, and a 503 problem with Retry-After (not a 401) for an unknown key', async () => {
    const ok = await app.inject({ url: '/me', headers: { authorization: `Bearer ${await sign(known)}` } });
    expect(ok.statusCode).toBe(200);
    keys.push(later);
    src.up = false;
    await new Promise((r) => setTimeout(r, 5));
    const stillOk = await app.inject({ url: '/me', headers: { authorization: `Bearer ${await sign(known)}` } });
    expect(stillOk.statusCode).toBe(200);
    expect(stillOk.json()).toEqual({ userId: 'user-1' });
    const refused = await app.inject({ url: '/me', headers: { authorization: `Bearer ${await sign(later)}` } });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['www-authenticate']).toBeUndefined();
    expect(refused.json()).toMatchObject({ status: 503, detail: 'The access token cannot be checked right now; retry shortly' });
    expect(refused.body).not.toMatch(/primary|\bat .+\.(ts|js):\d+/);
  });
});
