import type { Database } from '@kinora/db';

export type RefreshOutcome =
  | { kind: 'rotated'; sessionId: string; userId: string }
  | { kind: 'reused'; sessionId: string; userId: string }
  | { kind: 'invalid' };

/** Login sessions (refresh-token families) and their single-use refresh tokens. */
export class SessionRepository {
  constructor(private readonly db: Database) {}

  async createSession(sessionId: string, userId: string, tokenHash: Buffer, expiresAt: Date): Promise<void> {
    // The new login's first requests (with a token, perhaps without `Kinora-Lsn`) read its own account once a
    // replica has it.
    this.db.markWriteBy(userId);
    await this.db.transaction(async (c) => {
      await c.query('INSERT INTO users.sessions (id, user_id) VALUES ($1, $2)', [sessionId, userId]);
      await c.query('INSERT INTO users.refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)', [tokenHash, sessionId, expiresAt]);
    });
  }

  /**
   * Spends a refresh token and, in the same transaction, stores its successor. The row lock makes two concurrent
   * presentations of one token serialise: the first rotates, the second sees it spent and revokes the family.
   */
  async rotate(oldHash: Buffer, newHash: Buffer, newExpiresAt: Date): Promise<RefreshOutcome> {
    const outcome = await this.db.transaction(async (c): Promise<RefreshOutcome> => {
      const { rows } = await c.query<{ session_id: string; user_id: string; used_at: Date | null; expired: boolean; revoked: boolean }>(
        `SELECT t.session_id, s.user_id, t.used_at, t.expires_at <= now() AS expired, s.revoked_at IS NOT NULL AS revoked
           FROM users.refresh_tokens t JOIN users.sessions s ON s.id = t.session_id
          WHERE t.token_hash = $1
          FOR UPDATE OF t, s`,
        [oldHash],
      );
      const row = rows[0];
      if (!row || row.revoked || row.expired) return { kind: 'invalid' };
      if (row.used_at !== null) {
        await c.query(`UPDATE users.sessions SET revoked_at = now(), revoked_reason = 'refresh token reuse' WHERE id = $1`, [row.session_id]);
        return { kind: 'reused', sessionId: row.session_id, userId: row.user_id };
      }
      await c.query('UPDATE users.refresh_tokens SET used_at = now() WHERE token_hash = $1', [oldHash]);
      await c.query('INSERT INTO users.refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)', [newHash, row.session_id, newExpiresAt]);
      return { kind: 'rotated', sessionId: row.session_id, userId: row.user_id };
    });
    if (outcome.kind !== 'invalid') this.db.markWriteBy(outcome.userId);
    return outcome;
  }

  /** Revokes the session a refresh token belongs to (logout). Unknown tokens are ignored. */
  async revokeByToken(tokenHash: Buffer, reason: string): Promise<void> {
    await this.db.execute(
      `UPDATE users.sessions SET revoked_at = now(), revoked_reason = $2
        WHERE id = (SELECT session_id FROM users.refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL`,
      [tokenHash, reason],
    );
  }

  /** Revokes every session of a user except one (after a password change). */
  async revokeOthers(userId: string, keepSessionId: string, reason: string): Promise<void> {
    await this.db.execute(
      `UPDATE users.sessions SET revoked_at = now(), revoked_reason = $3 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL`,
      [userId, keepSessionId, reason],
    );
  }
}
