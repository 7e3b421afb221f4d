import type { JWK } from 'jose';
import type { Database } from '@kinora/db';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  publicJwk: JWK;
  privateJwk: JWK;
  createdAt: Date;
  retiredAt: Date | null;
  publishUntil: Date | null;
}

interface Raw {
  kid: string;
  alg: string;
  public_jwk: JWK;
  private_jwk: JWK;
  created_at: Date;
  retired_at: Date | null;
  publish_until: Date | null;
}

const toRow = (r: Raw): SigningKeyRow => ({
  kid: r.kid,
  alg: r.alg,
  publicJwk: r.public_jwk,
  privateJwk: r.private_jwk,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
  publishUntil: r.publish_until,
});

export class KeyRepository {
  constructor(private readonly db: Database) {}

  /**
   * Keys still published: the active ones and retired ones whose tokens may not have expired yet. Read on the
   * primary (a key rotated a moment ago is published at once); while the primary is down, on the replica that has
   * replayed the most, so that access tokens keep verifying (here and through the JWKS) during a primary outage.
   */
  async published(): Promise<SigningKeyRow[]> {
    const { rows } = await this.db.latestPool().query<Raw>(
      `SELECT * FROM users.signing_keys WHERE retired_at IS NULL OR publish_until > now() ORDER BY created_at DESC`,
    );
    return rows.map(toRow);
  }

  /**
   * Inserts a new active key and retires the others (still published until `publishUntil`), under a lock so that
   * concurrent starts or rotations cannot leave two active keys. When `onlyIfNone`, nothing happens if an active key
   * exists already (first start).
   */
  async rotate(key: { kid: string; alg: string; publicJwk: JWK; privateJwk: JWK }, publishUntil: Date, onlyIfNone: boolean): Promise<boolean> {
    return this.db.transaction(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('kinora.users.signing_keys'))`);
      if (onlyIfNone) {
        const { rowCount } = await c.query('SELECT 1 FROM users.signing_keys WHERE retired_at IS NULL');
        if (rowCount) return false;
      }
      await c.query('UPDATE users.signing_keys SET retired_at = now(), publish_until = $1 WHERE retired_at IS NULL', [publishUntil]);
      await c.query('INSERT INTO users.signing_keys (kid, alg, public_jwk, private_jwk) VALUES ($1, $2, $3, $4)', [
        key.kid,
        key.alg,
        key.publicJwk,
        key.privateJwk,
      ]);
      return true;
    });
  }

  /** Deletes keys that are neither active nor published any more. */
  async prune(): Promise<number> {
    const { rowCount } = await this.db.primary.query('DELETE FROM users.signing_keys WHERE retired_at IS NOT NULL AND publish_until <= now()');
    return rowCount ?? 0;
  }
}
