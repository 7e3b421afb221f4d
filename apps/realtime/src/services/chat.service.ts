import type { ChatHistoryPage, ChatMessage, ChatMessageDeletedV1, ChatMessagePostedV1, Principal } from '@kinora/contracts';
import { commonErrors } from '@kinora/http';
import type { Logger } from '@kinora/observability';
import { uuidv7 } from 'uuidv7';
import { realtimeErrors } from '../errors.js';
import type { ChatPartitions } from '../repositories/chat-partitions.js';
import type { ChatRateLimiter } from '../repositories/chat-rate.limiter.js';
import type { ChatRepository, ChatRow } from '../repositories/chat.repository.js';
import { cleanChatText } from './chat-text.js';
import type { VideoAccess } from './video-access.js';

export interface ChatPublisher {
  posted(event: ChatMessagePostedV1, actorId: string): Promise<void>;
  deleted(event: ChatMessageDeletedV1, actorId: string): Promise<void>;
}

export interface ChatBroadcaster {
  /** To every client in the video's room, on every instance. */
  message(videoId: string, message: ChatMessage): void;
  deleted(videoId: string, messageId: string): void;
}

export interface ChatServiceDeps {
  repo: ChatRepository;
  partitions: ChatPartitions;
  limiter: ChatRateLimiter;
  access: VideoAccess;
  publisher: ChatPublisher;
  broadcast: ChatBroadcaster;
  logger: Logger;
  onResult?: (result: 'accepted' | 'invalid' | 'rate_limited' | 'not_found' | 'unauthenticated') => void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Milliseconds since the epoch in a UUIDv7 (its first 48 bits). */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

export function toChatMessage(r: Pick<ChatRow, 'id' | 'authorId' | 'authorUsername' | 'text' | 'createdAt'>): ChatMessage {
  return { id: r.id, author: { id: r.authorId, username: r.authorUsername }, text: r.text, createdAt: r.createdAt.toISOString() };
}

function encodeCursor(r: ChatRow): string {
  return Buffer.from(`${r.createdAt.getTime()}.${r.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } | null {
  const [ms, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('.');
  if (!ms || !id || !/^\d{1,15}$/.test(ms) || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  return { createdAt: new Date(Number(ms)), id };
}

/** Live chat: sending (clean, rate-limit, persist, publish, broadcast), history pages, deletion by owner or author. */
export class ChatService {
  constructor(private readonly deps: ChatServiceDeps) {}

  async send(principal: Principal | null, videoId: string, rawText: string): Promise<ChatMessage> {
    const d = this.deps;
    if (!principal) {
      d.onResult?.('unauthenticated');
      throw commonErrors.UNAUTHENTICATED('Sign in to chat: connect with auth: { token }');
    }
    const cleaned = cleanChatText(rawText);
    if (!cleaned.ok) {
      d.onResult?.('invalid');
      throw realtimeErrors.CHAT_TEXT_INVALID(cleaned.reason, [{ field: '/text', message: cleaned.reason }]);
    }
    if (!(await d.access.visibleTo(videoId, principal.userId))) {
      d.onResult?.('not_found');
      throw commonErrors.NOT_FOUND('No such video');
    }
    const decision = await d.limiter.take(principal.userId);
    if (!decision.allowed) {
      d.onResult?.('rate_limited');
      const e = realtimeErrors.CHAT_RATE_LIMITED(`Too many messages: retry in ${Math.ceil(decision.retryAfterMs / 100) / 10} s`);
      (e as { retryAfterMs?: number }).retryAfterMs = decision.retryAfterMs;
      throw e;
    }
    const id = uuidv7();
    const row = { id, videoId, authorId: principal.userId, authorUsername: principal.username, text: cleaned.text, createdAt: new Date(uuidv7Time(id)) };
    await d.repo.insert(row);
    const message = toChatMessage(row);
    d.broadcast.message(videoId, message);
    d.onResult?.('accepted');
    // The row is the record; the event is for other consumers (moderation, analytics). A failed publish is logged
    // and does not undo a message the room already received.
    d.publisher
      .posted({ messageId: id, videoId, author: message.author, text: message.text, createdAt: message.createdAt }, principal.userId)
      .catch((err: unknown) => d.logger.error({ err, messageId: id }, 'publishing ChatMessagePosted.v1 failed'));
    return message;
  }

  async history(viewerId: string | null, videoId: string, q: { before?: string; limit?: number; cursor?: string }): Promise<ChatHistoryPage> {
    if (!(await this.deps.access.visibleTo(videoId, viewerId))) throw commonErrors.NOT_FOUND('No such video');
    const limit = q.limit ?? 20;
    let after: { createdAt: Date; id: string } | undefined;
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      if (!c) throw commonErrors.VALIDATION_FAILED('The cursor is not one this endpoint returned', [{ field: '/query/cursor', message: 'is invalid' }]);
      after = c;
    }
    const rows = await this.deps.repo.history(videoId, {
      limit: limit + 1,
      since: this.deps.partitions.keptSince(),
      ...(q.before !== undefined ? { before: new Date(q.before) } : {}),
      ...(after ? { after } : {}),
    });
    const page = rows.slice(0, limit);
    return { items: page.map(toChatMessage), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null };
  }

  /** Deletes a message: its author or the video's owner. Clients in the room get `chat:deleted`. */
  async delete(principal: Principal, messageId: string): Promise<void> {
    if (!UUID.test(messageId)) throw realtimeErrors.CHAT_MESSAGE_NOT_FOUND('No such chat message');
    const createdAt = new Date(uuidv7Time(messageId));
    const row = await this.deps.repo.find(messageId.toLowerCase(), createdAt);
    if (!row || row.deletedAt) throw realtimeErrors.CHAT_MESSAGE_NOT_FOUND('No such chat message');
    const video = await this.deps.access.visibleTo(row.videoId, principal.userId);
    if (!video) throw realtimeErrors.CHAT_MESSAGE_NOT_FOUND('No such chat message');
    if (row.authorId !== principal.userId && video.ownerId !== principal.userId) {
      throw realtimeErrors.NOT_CHAT_MODERATOR('Only the video owner or the author may delete a chat message');
    }
    if (!(await this.deps.repo.softDelete(row.id, row.createdAt, principal.userId))) return; // deleted meanwhile
    this.deps.broadcast.deleted(row.videoId, row.id);
    this.deps.publisher
      .deleted({ messageId: row.id, videoId: row.videoId, deletedBy: principal.userId }, principal.userId)
      .catch((err: unknown) => this.deps.logger.error({ err, messageId: row.id }, 'publishing ChatMessageDeleted.v1 failed'));
  }
}
