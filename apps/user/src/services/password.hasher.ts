import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFKC'), salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export interface ScryptParams {
  /** CPU/memory cost (power of two). */
  N: number;
  r: number;
  p: number;
}

/** OWASP's scrypt recommendation (N=2^17, r=8, p=1) costs 128 MiB per hash; 2^15 keeps 32 MiB and ~60 ms here. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const KEYLEN = 32;

/**
 * scrypt with a 16-byte random salt per password, encoded as `scrypt$N$r$p$salt$hash` (base64url) so parameters can
 * be raised later without breaking stored hashes. Verification is constant-time, and {@link verifyDummy} spends the
 * same work when the user does not exist so timing does not tell whether it does.
 */
export class PasswordHasher {
  private dummy: Promise<string> | undefined;
  constructor(private readonly params: ScryptParams = DEFAULT_SCRYPT) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const { N, r, p } = this.params;
    const key = await scrypt(password, salt, KEYLEN, { N, r, p, maxmem: 256 * N * r });
    return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const parts = encoded.split('$');
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
    const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
    const salt = Buffer.from(parts[4]!, 'base64url');
    const expected = Buffer.from(parts[5]!, 'base64url');
    const key = await scrypt(password, salt, expected.length, { N, r, p, maxmem: 256 * N * r });
    return timingSafeEqual(key, expected);
  }

  /** Same cost as a real verification, always false. */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash('kinora-dummy-password-for-timing');
    await this.verify(password, await this.dummy);
    return false;
  }

  /** True when a stored hash uses weaker parameters than the current ones (rehash on next sign-in). */
  needsRehash(encoded: string): boolean {
    const parts = encoded.split('$');
    return parts[0] !== 'scrypt' || Number(parts[1]) < this.params.N || Number(parts[2]) < this.params.r;
  }
}
