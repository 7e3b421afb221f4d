import { uuidv7 } from 'uuidv7';
import { CACHE_TTLS, keyClass, type Cache } from '@kinora/cache';
import type { AuthResult, Channel, Principal, RegisterBody, UpdateChannelBody, UpdateMeBody, User } from '@kinora/contracts';
import { userErrors } from '../errors.js';
import { UniqueViolation, type UserRepository, type UserWithChannel } from '../repositories/user.repository.js';
import type { SessionRepository } from '../repositories/session.repository.js';
import type { ChannelRow } from '../repositories/schema.js';
import type { PasswordHasher } from './password.hasher.js';
import { passwordWeakness } from './password.policy.js';
import { hashRefreshToken, newRefreshToken, type TokenService } from './token.service.js';

const GENERIC_CREDENTIALS = 'The login or password is incorrect';
const GENERIC_REFRESH = 'The refresh token is invalid, expired or revoked';

export function toUser(u: UserWithChannel): User {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    displayName: u.displayName,
    channelId: u.channelId,
    createdAt: u.createdAt.toISOString(),
  };
}

/** Counters owned by other services (subscriptions, videos); zero until they report. */
export interface ChannelStatsReader {
  channelStats(channelId: string): Promise<{ subscriberCount: number; videoCount: number }>;
}

export const noChannelStats: ChannelStatsReader = { channelStats: async () => ({ subscriberCount: 0, videoCount: 0 }) };

/** Channels (public metadata): evicted on every instance when their owner changes them. */
export const CHANNEL_CLASS = keyClass<ChannelRow>({
  name: 'channel',
  ...CACHE_TTLS.metadata,
  decode: (text) => {
    const row = JSON.parse(text) as ChannelRow;
    return { ...row, createdAt: new Date(row.createdAt), updatedAt: new Date(row.updatedAt) };
  },
});

export class AccountService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly tokens: TokenService,
    private readonly hasher: PasswordHasher,
    private readonly opts: { refreshTokenTtlSec: number; stats?: ChannelStatsReader; cache?: Cache },
  ) {}

  async register(body: RegisterBody): Promise<AuthResult> {
    const weakness = passwordWeakness(body.password, body);
    if (weakness) throw userErrors.WEAK_PASSWORD(`The password ${weakness}`, [{ field: '/body/password', message: weakness }]);
    const userId = uuidv7();
    const passwordHash = await this.hasher.hash(body.password);
    let user: UserWithChannel;
    try {
      user = await this.users.createWithChannel(
        { id: userId, username: body.username, email: body.email, displayName: body.displayName ?? body.username, passwordHash },
        { id: uuidv7(), ownerId: userId, handle: body.username, name: body.displayName ?? body.username },
      );
    } catch (err) {
      if (err instanceof UniqueViolation) {
        if (err.constraint.includes('email')) {
          throw userErrors.EMAIL_TAKEN('An account with this email exists', [{ field: '/body/email', message: 'is taken' }]);
        }
        throw userErrors.USERNAME_TAKEN('This username is taken', [{ field: '/body/username', message: 'is taken' }]);
      }
      throw err;
    }
    return this.startSession(user);
  }

  async login(login: string, password: string): Promise<AuthResult> {
    const row = await this.users.findByLogin(login);
    // The same scrypt work is spent whether or not the user exists.
    const ok = row ? await this.hasher.verify(password, row.passwordHash) : await this.hasher.verifyDummy(password);
    if (!row || !ok) throw userErrors.INVALID_CREDENTIALS(GENERIC_CREDENTIALS);
    if (this.hasher.needsRehash(row.passwordHash)) await this.users.update(row.id, { passwordHash: await this.hasher.hash(password) });
    const user = await this.users.findById(row.id, { primary: true });
    if (!user) throw userErrors.INVALID_CREDENTIALS(GENERIC_CREDENTIALS);
    return this.startSession(user);
  }

  private async startSession(user: UserWithChannel): Promise<AuthResult> {
    const sessionId = uuidv7();
    const refresh = newRefreshToken();
    await this.sessions.createSession(sessionId, user.id, refresh.hash, this.refreshExpiry());
    return this.result(user, sessionId, refresh.token);
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.opts.refreshTokenTtlSec * 1000);
  }

  private async result(user: UserWithChannel, sessionId: string, refreshToken: string): Promise<AuthResult> {
    const access = await this.tokens.signAccessToken({ userId: user.id, username: user.username, sessionId });
    return { user: toUser(user), accessToken: access.token, refreshToken, expiresIn: access.expiresIn, tokenType: 'Bearer' };
  }

  /**
   * Single-use rotation. Presenting a token that was already spent means it leaked (or a client replays it): the
   * whole login family is revoked and the caller gets the same generic 401.
   */
  async refresh(refreshToken: string): Promise<AuthResult> {
    const next = newRefreshToken();
    const outcome = await this.sessions.rotate(hashRefreshToken(refreshToken), next.hash, this.refreshExpiry());
    if (outcome.kind !== 'rotated') throw userErrors.INVALID_REFRESH_TOKEN(GENERIC_REFRESH);
    const user = await this.users.findById(outcome.userId, { primary: true });
    if (!user) throw userErrors.INVALID_REFRESH_TOKEN(GENERIC_REFRESH);
    return this.result(user, outcome.sessionId, next.token);
  }

  async logout(refreshToken: string): Promise<void> {
    await this.sessions.revokeByToken(hashRefreshToken(refreshToken), 'logout');
  }

  async me(principal: Principal): Promise<User> {
    const user = await this.users.findById(principal.userId);
    if (!user) throw userErrors.USER_NOT_FOUND('The account no longer exists');
    return toUser(user);
  }

  async updateMe(principal: Principal, body: UpdateMeBody): Promise<User> {
    const current = await this.users.findById(principal.userId, { primary: true });
    if (!current) throw userErrors.USER_NOT_FOUND('The account no longer exists');
    const patch: { displayName?: string; passwordHash?: string } = {};
    if (body.displayName !== undefined) patch.displayName = body.displayName;
    if (body.password !== undefined) {
      if (body.currentPassword !== undefined && !(await this.hasher.verify(body.currentPassword, current.passwordHash))) {
        throw userErrors.WRONG_CURRENT_PASSWORD('The current password is wrong', [{ field: '/body/currentPassword', message: 'is wrong' }]);
      }
      const weakness = passwordWeakness(body.password, current);
      if (weakness) throw userErrors.WEAK_PASSWORD(`The password ${weakness}`, [{ field: '/body/password', message: weakness }]);
      patch.passwordHash = await this.hasher.hash(body.password);
    }
    if (Object.keys(patch).length > 0) await this.users.update(principal.userId, patch);
    // A new password signs out every other login of the account.
    if (patch.passwordHash) await this.sessions.revokeOthers(principal.userId, principal.sessionId, 'password changed');
    return toUser({ ...current, ...(patch.displayName !== undefined ? { displayName: patch.displayName } : {}) });
  }

  /**
   * A channel (public), through the cache when there is one: fills read the primary, so a fill right after a change
   * never stores what a lagging replica still has.
   */
  async channel(id: string): Promise<Channel> {
    const key = id.toLowerCase();
    const row = this.opts.cache
      ? await this.opts.cache.get(CHANNEL_CLASS, key, async () => (await this.users.findChannel(key, { primary: true })) ?? null)
      : await this.users.findChannel(id);
    if (!row) throw userErrors.CHANNEL_NOT_FOUND('No channel with this id');
    return this.toChannel(row);
  }

  async updateChannel(principal: Principal, id: string, body: UpdateChannelBody): Promise<Channel> {
    const updated = await this.users.updateChannel(id, principal.userId, body);
    if (updated) {
      await this.opts.cache?.invalidate(CHANNEL_CLASS, id.toLowerCase());
      return this.toChannel(updated);
    }
    // Channels are public: someone else's is a 403, a missing one a 404.
    const exists = await this.users.findChannel(id);
    if (!exists) throw userErrors.CHANNEL_NOT_FOUND('No channel with this id');
    throw userErrors.NOT_CHANNEL_OWNER('Only the owner can change this channel');
  }

  private async toChannel(row: ChannelRow): Promise<Channel> {
    const stats = await (this.opts.stats ?? noChannelStats).channelStats(row.id);
    return {
      id: row.id,
      handle: row.handle,
      name: row.name,
      description: row.description,
      ownerId: row.ownerId,
      subscriberCount: stats.subscriberCount,
      videoCount: stats.videoCount,
      createdAt: row.createdAt.toISOString(),
    };
  }
}
