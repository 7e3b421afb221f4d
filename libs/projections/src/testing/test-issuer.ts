import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { uuidv7 } from 'uuidv7';
import { ACCESS_TOKEN_AUDIENCE } from '@kinora/auth';

export interface TestUser {
  id: string;
  username: string;
  token: string;
  /** `{ authorization: 'Bearer …' }` */
  headers: { authorization: string };
}

/**
 * Signs access tokens the way the user service does (EdDSA, `kid`, `sub`/`name`/`sid`, issuer = public URL,
 * audience `ACCESS_TOKEN_AUDIENCE`), so a service's tests authenticate without running the user service.
 */
export class TestIssuer {
  private seq = 0;
  private constructor(
    readonly issuer: string,
    readonly audience: string,
    private readonly kid: string,
    private readonly key: CryptoKey,
    private readonly publicJwk: JWK,
  ) {}

  static async create(issuer = 'http://kinora.test', audience = ACCESS_TOKEN_AUDIENCE): Promise<TestIssuer> {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = `test-${randomUUID().slice(0, 8)}`;
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
    return new TestIssuer(issuer, audience, kid, privateKey, jwk);
  }

  /** The public key set (for a `TokenVerifier`'s `fetchJwks`). */
  async jwks(): Promise<JSONWebKeySet> {
    return { keys: [this.publicJwk] };
  }

  /** A new user (fresh UUIDv7 id) with a valid access token. */
  async user(username?: string): Promise<TestUser> {
    const id = uuidv7();
    const name = username ?? `user${process.pid}_${(this.seq++).toString(36)}`;
    const token = await this.sign({ userId: id, username: name });
    return { id, username: name, token, headers: { authorization: `Bearer ${token}` } };
  }

  async sign(claims: { userId: string; username: string; expiresInSec?: number }): Promise<string> {
    return new SignJWT({ name: claims.username, sid: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid, typ: 'at+jwt' })
      .setSubject(claims.userId)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.expiresInSec ?? 600))
      .sign(this.key);
  }
}
