import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK } from 'jose';
import { client, expectProblemShape, register, startPlatform, type Account, type Platform } from './support.js';

// JWT attacks and refresh-token reuse against the platform as `npm start` runs it. The suite holds the platform's
// signing key (JWT_KEYS_DIR), so it can also make tokens that are correctly signed but wrong in one claim.
let platform: Platform;
let api: ReturnType<typeof client>;
let alice: Account;
let bob: Account;

beforeAll(async () => {
  platform = await startPlatform('kinora_sec_tokens');
  api = client(platform.url);
  alice = await register(platform.url, 'alice');
  bob = await register(platform.url, 'bob');
}, 180_000);

afterAll(async () => {
  await platform?.stop();
});

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function parts(token: string): { header: any; payload: any; signature: string } {
  const [h, p, s] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()), signature: s! };
}

/** Claims as the platform issues them for `account`, with overrides. */
function claims(account: Account, over: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { name: account.username, sid: randomUUID(), sub: account.id, iss: platform.url, aud: 'kinora-api', jti: randomUUID(), iat: now, exp: now + 600, ...over };
}

async function signWithPlatformKey(payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid: platform.kid, typ: 'at+jwt', ...header }).sign(platform.signingKey);
}

/** The request a token must not get through: Alice's own profile, then a write that would change it. */
async function expectRefused(token: string, code: 'invalid-token' | 'token-expired' = 'invalid-token'): Promise<void> {
  const me = await api('/api/v1/users/me', { token });
  expectProblemShape(me, 401);
  expect(me.body.type).toMatch(new RegExp(`#${code}$`));
  expect(me.headers.get('www-authenticate')).toMatch(/^Bearer/);
  const patch = await api('/api/v1/users/me', { method: 'PATCH', token, body: { displayName: 'pwned' } });
  expectProblemShape(patch, 401);
  // Even a public route refuses a bad token rather than serving it anonymously.
  expectProblemShape(await api('/api/v1/videos', { token }), 401);
}

describe('access tokens', () => {
  it('accepts the genuine token and one the suite signs with the platform key (the baseline the attacks vary)', async () => {
    expect((await api('/api/v1/users/me', { token: alice.token })).status).toBe(200);
    const forged = await signWithPlatformKey(claims(alice));
    const me = await api('/api/v1/users/me', { token: forged });
    expect({ status: me.status, id: me.body.id }).toEqual({ status: 200, id: alice.id });
  });

  it('refuses a tampered payload (sub swapped for another user, signature kept)', async () => {
    const { header, payload, signature } = parts(alice.token);
    await expectRefused(`${b64(header)}.${b64({ ...payload, sub: bob.id, name: bob.username })}.${signature}`);
  });

  it('refuses a tampered signature', async () => {
    const [h, p, s] = alice.token.split('.');
    const sig = Buffer.from(s!, 'base64url');
    sig[0] = sig[0]! ^ 0xff;
    await expectRefused(`${h}.${p}.${sig.toString('base64url')}`);
    await expectRefused(`${h}.${p}.`);
  });

  it('refuses an expired token with token-expired, beyond the 5 s tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await signWithPlatformKey(claims(alice, { iat: now - 1200, exp: now - 60 })), 'token-expired');
  });

  it('refuses alg "none" (unsigned), with and without the kid', async () => {
    const payload = claims(alice);
    await expectRefused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`);
    await expectRefused(`${b64({ alg: 'none', kid: platform.kid })}.${b64(payload)}.`);
    await expectRefused(`${b64({ alg: 'NONE', kid: platform.kid })}.${b64(payload)}.`);
  });

  it('refuses a token signed by another key that claims the platform kid (wrong kid), and one with an unknown kid', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const wrongKid = await new SignJWT(claims(alice)).setProtectedHeader({ alg: 'EdDSA', kid: platform.kid }).sign(privateKey);
    await expectRefused(wrongKid);
    const ownKid = (await calculateJwkThumbprint(await exportJWK(publicKey))).slice(0, 16);
    await expectRefused(await new SignJWT(claims(alice)).setProtectedHeader({ alg: 'EdDSA', kid: ownKid }).sign(privateKey));
    await expectRefused(await new SignJWT(claims(alice)).setProtectedHeader({ alg: 'EdDSA' }).sign(privateKey));
    // The platform's own key without a kid: kid is required.
    await expectRefused(await new SignJWT(claims(alice)).setProtectedHeader({ alg: 'EdDSA' }).sign(platform.signingKey));
  });

  it('refuses key confusion: HS256 with the public key (PEM, JWK JSON, JWKS bytes) as the HMAC secret', async () => {
    const jwksText = await (await fetch(`${platform.url}/.well-known/jwks.json`)).text();
    const jwk = (JSON.parse(jwksText) as { keys: object[] }).keys[0]!;
    const publicPem = (await import('node:crypto')).createPublicKey(platform.signingKey).export({ type: 'spki', format: 'pem' });
    for (const secret of [Buffer.from(String(publicPem)), Buffer.from(JSON.stringify(jwk)), Buffer.from(jwksText), Buffer.from((jwk as { x: string }).x, 'base64url')]) {
      for (const alg of ['HS256', 'HS512']) {
        const token = await new SignJWT(claims(alice)).setProtectedHeader({ alg, kid: platform.kid, typ: 'at+jwt' }).sign(new Uint8Array(secret));
        await expectRefused(token);
      }
    }
  });

  it('refuses a correctly signed token for another audience or issuer, or without the claims the platform needs', async () => {
    await expectRefused(await signWithPlatformKey(claims(alice, { aud: 'kinora-internal' })));
    await expectRefused(await signWithPlatformKey(claims(alice, { aud: ['someone-else'] })));
    await expectRefused(await signWithPlatformKey(claims(alice, { iss: 'https://evil.example' })));
    const { sub: _s, ...noSub } = claims(alice);
    await expectRefused(await signWithPlatformKey(noSub));
    const { exp: _e, ...noExp } = claims(alice);
    await expectRefused(await signWithPlatformKey(noExp));
  });

  it('refuses garbage in the Authorization header with a 401 problem, never a 500', async () => {
    for (const token of ['x', 'a.b.c', '....', `${b64({ alg: 'EdDSA' })}.%%%.x`, 'e30.e30.e30', `${'A'.repeat(8000)}.${'B'.repeat(8000)}.C`]) {
      expectProblemShape(await api('/api/v1/users/me', { token }), 401);
    }
    const r = await api('/api/v1/users/me', { headers: { authorization: 'Basic YWxpY2U6cGFzcw==' } });
    expect(r.status).toBe(401);
  });

  it('leaves Alice untouched by every refused write', async () => {
    const me = await api('/api/v1/users/me', { token: alice.token });
    expect(me.body.displayName).not.toBe('pwned');
  });
});

describe('refresh tokens', () => {
  it('are single use: a reused one is refused and revokes the whole login (family), other logins keep working', async () => {
    const carol = await register(platform.url, 'carol');
    // A second, independent login of the same user.
    const other = await api('/api/v1/auth/login', { method: 'POST', body: { login: carol.username, password: 'correct horse battery staple' } });
    expect(other.status).toBe(200);

    const first = await api('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: carol.refreshToken } });
    expect(first.status).toBe(200);
    const rotated = first.body.refreshToken as string;
    expect(rotated).not.toBe(carol.refreshToken);

    // The stolen (already used) token is presented again: refused with the generic problem…
    const reuse = await api('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: carol.refreshToken } });
    expectProblemShape(reuse, 401);
    // …and the family is revoked: the legitimate holder's rotated token no longer works either.
    expectProblemShape(await api('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: rotated } }), 401);
    // The other login is a different family and goes on.
    const otherRefresh = await api('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: other.body.refreshToken } });
    expect(otherRefresh.status).toBe(200);
  });

  it('refuses made-up, malformed and logged-out refresh tokens with 401 or 400 problems', async () => {
    const dave = await register(platform.url, 'dave');
    expectProblemShape(await api('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: `krt_${'A'.repeat(43)}` } }), 401);
    const bad = await api('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: 42 } });
    expect([400, 401]).toContain(bad.status);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await api('/api/v1/auth/logout', { method: 'POST', body: { refreshToken: dave.refreshToken } })).status).toBe(204);
    expectProblemShape(await api('/api/v1/auth/refresh', { method: 'POST', body: { refreshToken: dave.refreshToken } }), 401);
  });
});
