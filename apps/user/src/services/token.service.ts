import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { ACCESS_TOKEN_AUDIENCE } from '@kinora/auth';
import type { KeyRepository, SigningKeyRow } from '../repositories/key.repository.js';

const ALG = 'EdDSA';

/** Refresh tokens: 256 random bits, shown to the client once, stored only as SHA-256. */
export function newRefreshToken(): { token: string; hash: Buffer } {
  const token = `krt_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Access tokens: EdDSA (Ed25519) JWTs with `kid`, signed by the newest active key. Keys live in the database so
 * every instance signs with the same key and publishes the same JWKS; a rotation keeps the previous key published
 * until every token it signed has expired.
 */
export class TokenService {
  private cache: { at: number; signer: { kid: string; key: CryptoKey | Uint8Array } | undefined; jwks: JSONWebKeySet } | undefined;

  constructor(
    private readonly keys: KeyRepository,
    private readonly opts: { issuer: string; accessTokenTtlSec: number; cacheMs?: number },
  ) {}

  /** Creates the first key when there is none (safe under concurrent starts). */
  async ensureKey(): Promise<void> {
    await this.keys.rotate(await generateSigningKey(), new Date(), true);
    this.cache = undefined;
  }

  /** Makes a new key the signer; the previous one stays published for one access-token lifetime plus a margin. */
  async rotate(): Promise<string> {
    const key = await generateSigningKey();
    const publishUntil = new Date(Date.now() + (this.opts.accessTokenTtlSec + 60) * 1000);
    await this.keys.rotate(key, publishUntil, false);
    this.cache = undefined;
    await this.keys.prune();
    return key.kid;
  }

  private async load(): Promise<NonNullable<TokenService['cache']>> {
    if (this.cache && Date.now() - this.cache.at < (this.opts.cacheMs ?? 10_000)) return this.cache;
    const rows: SigningKeyRow[] = await this.keys.published();
    const active = rows.find((r) => r.retiredAt === null);
    this.cache = {
      at: Date.now(),
      signer: active ? { kid: active.kid, key: await importJWK(active.privateJwk, active.alg) } : undefined,
      jwks: { keys: rows.map((r) => ({ ...r.publicJwk, kid: r.kid, alg: r.alg, use: 'sig' })) },
    };
    return this.cache;
  }

  async jwks(): Promise<JSONWebKeySet> {
    return (await this.load()).jwks;
  }

  async signAccessToken(claims: { userId: string; username: string; sessionId: string }): Promise<{ token: string; expiresIn: number }> {
    let { signer } = await this.load();
    if (!signer) {
      await this.ensureKey();
      signer = (await this.load()).signer;
    }
    if (!signer) throw new Error('no signing key');
    const token = await new SignJWT({ name: claims.username, sid: claims.sessionId })
      .setProtectedHeader({ alg: ALG, kid: signer.kid, typ: 'at+jwt' })
      .setSubject(claims.userId)
      .setIssuer(this.opts.issuer)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${this.opts.accessTokenTtlSec}s`)
      .sign(signer.key);
    return { token, expiresIn: this.opts.accessTokenTtlSec };
  }
}

async function generateSigningKey(): Promise<{ kid: string; alg: string; publicJwk: JWK; privateJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = (await calculateJwkThumbprint(publicJwk)).slice(0, 16);
  return { kid, alg: ALG, publicJwk, privateJwk };
}
