import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '@kinora/db';
import { channels, users, type ChannelRow, type UserRow } from './schema.js';

export type UserWithChannel = UserRow & { channelId: string };

export class UniqueViolation extends Error {
  constructor(readonly constraint: string) {
    super(`unique violation on ${constraint}`);
  }
}

function asUniqueViolation(err: unknown): never {
  const e = err as { code?: string; constraint?: string; cause?: { code?: string; constraint?: string } };
  const pgErr = e.code ? e : e.cause;
  if (pgErr?.code === '23505') throw new UniqueViolation(pgErr.constraint ?? 'unknown');
  throw err;
}

/** All SQL on users and channels. */
export class UserRepository {
  constructor(private readonly db: Database) {}

  /** Creates a user and its channel in one transaction; throws {@link UniqueViolation} on a taken name or email. */
  async createWithChannel(user: Omit<UserRow, 'createdAt' | 'updatedAt'>, channel: Omit<ChannelRow, 'createdAt' | 'updatedAt' | 'description'>): Promise<UserWithChannel> {
    try {
      return await this.db.writer().transaction(async (tx) => {
        const [u] = await tx.insert(users).values(user).returning();
        await tx.insert(channels).values(channel);
        return { ...u!, channelId: channel.id };
      }).then((created) => {
        this.db.markWriteBy(created.id);
        return created;
      });
    } catch (err) {
      asUniqueViolation(err);
    }
  }

  async findByLogin(login: string): Promise<UserRow | undefined> {
    const value = login.toLowerCase();
    // Reads for authentication go to the primary: a just-registered user must be able to sign in at once.
    const [row] = await this.db.primaryDrizzle
      .select()
      .from(users)
      .where(value.includes('@') ? sql`lower(${users.email}) = ${value}` : sql`lower(${users.username}) = ${value}`)
      .limit(1);
    return row;
  }

  async findById(id: string, opts: { primary?: boolean } = {}): Promise<UserWithChannel | undefined> {
    const db = opts.primary ? this.db.latestDrizzle : this.db.reader();
    const [row] = await db
      .select({ user: users, channelId: channels.id })
      .from(users)
      .innerJoin(channels, eq(channels.ownerId, users.id))
      .where(eq(users.id, id))
      .limit(1);
    return row ? { ...row.user, channelId: row.channelId } : undefined;
  }

  async update(id: string, patch: { displayName?: string; passwordHash?: string }): Promise<void> {
    await this.db
      .writer()
      .update(users)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(users.id, id));
  }

  async findChannel(id: string, opts: { primary?: boolean } = {}): Promise<ChannelRow | undefined> {
    const [row] = await (opts.primary ? this.db.latestDrizzle : this.db.reader()).select().from(channels).where(eq(channels.id, id)).limit(1);
    return row;
  }

  async updateChannel(id: string, ownerId: string, patch: { name?: string; description?: string }): Promise<ChannelRow | undefined> {
    const [row] = await this.db
      .writer()
      .update(channels)
      .set({ ...patch, updatedAt: new Date() })
      .where(and(eq(channels.id, id), eq(channels.ownerId, ownerId)))
      .returning();
    return row;
  }
}
