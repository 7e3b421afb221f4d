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
  /** When it starts to sign (a rotated-in key is published before). */
  activeFrom: Date;
  /** Whether it is the key that signs now (by the database's clock). */
  signing: boolean;
}

interface Raw {
  kid: string;
  alg: string;
  public_jwk: JWK;
  private_jwk: JWK;
  created_at: Date;
  retired_at: Date | null;
  publish_until: Date | null;
  active_from: Date;
  signing: boolean;
}

const toRow = (r: Raw): SigningKeyRow => ({
  kid: r.kid,
  alg: r.alg,
  publicJwk: r.public_jwk,
  privateJwk: r.private_jwk,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
  publishUntil: r.publish_until,
  activeFrom: r.active_from,
  signing: r.signing,
});

export class KeyRepository {
  constructor(private readonly db: Database) {}

  /**
   * Keys still published: the one that signs, the one rotated in to sign later, and retired ones whose tokens may
   * not have expired yet; newest first. Read on the primary (a key rotated a moment ago is published at once); while
   * the primary is down, on the replica that has replayed the most, so that access tokens keep verifying (here and
   * through the JWKS) during a primary outage.
   */
  async published(): Promise<SigningKeyRow[]> {
    const { rows } = await this.db.latestPool().query<Raw>(
      `SELECT *, (active_from <= now() AND (retired_at IS NULL OR retired_at > now())) AS signing
       FROM users.signing_keys WHERE retired_at IS NULL OR retired_at > now() OR publish_until > now()
       ORDER BY active_from DESC, created_at DESC`,
    );
    return rows.map(toRow);
  }

  /**
   * Publishes a new key that signs from `activateInSec` on (by the database's clock); the key signing until then
   * retires at that moment and stays published `keepPublishedSec` longer (the lifetime of the tokens it signs last).
   * A key rotated in earlier that has not started to sign is dropped (nothing verifies with it). Under a lock, so
   * that concurrent starts or rotations cannot leave two keys signing. When `onlyIfNone`, nothing happens if a key
   * exists that signs or will (first start).
   */
  async rotate(
    key: { kid: string; alg: string; publicJwk: JWK; privateJwk: JWK },
    opts: { activateInSec: number; keepPublishedSec: number; onlyIfNone: boolean },
  ): Promise<{ rotated: boolean; activeFrom: Date }> {
    return this.db.transaction(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('kinora.users.signing_keys'))`);
      const { rows } = await c.query<{ at: Date }>('SELECT now() + make_interval(secs => $1) AS at', [opts.activateInSec]);
      const at = rows[0]!.at;
      if (opts.onlyIfNone) {
        const { rowCount } = await c.query('SELECT 1 FROM users.signing_keys WHERE retired_at IS NULL');
        if (rowCount) return { rotated: false, activeFrom: at };
      }
      await c.query('DELETE FROM users.signing_keys WHERE retired_at IS NULL AND active_from > now()');
      await c.query(
        `UPDATE users.signing_keys SET retired_at = $1, publish_until = $1::timestamptz + make_interval(secs => $2)
         WHERE retired_at IS NULL OR retired_at > now()`,
        [at, opts.keepPublishedSec],
      );
      await c.query('INSERT INTO users.signing_keys (kid, alg, public_jwk, private_jwk, active_from) VALUES ($1, $2, $3, $4, $5)', [
        key.kid,
        key.alg,
        key.publicJwk,
        key.privateJwk,
        at,
      ]);
      return { rotated: true, activeFrom: at };
    });
  }

  /** Deletes keys that are neither active nor published any more. */
  async prune(): Promise<number> {
    const { rowCount } = await this.db.primary.query('DELETE FROM users.signing_keys WHERE retired_at IS NOT NULL AND publish_until <= now()');
    return rowCount ?? 0;
  }
}
