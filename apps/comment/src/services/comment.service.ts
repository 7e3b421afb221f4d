import { uuidv7 } from 'uuidv7';
import type {
  Comment,
  CommentRating,
  CommentRatingValue,
  CommentSort,
  CreateCommentBody,
  Principal,
} from '@kinora/contracts';
import type { Database } from '@kinora/db';
import type { TransactionalPublisher } from '@kinora/events';
import { commonErrors, decodeCursor, encodeCursor, isUuid } from '@kinora/http';
import { canSee, type VideoProjection, type VideoRecord } from '@kinora/projections';
import { commentErrors } from '../errors.js';
import { COMMENTS_TOPIC, commentCreatedMessage, commentDeletedMessage } from '../events/comment.events.js';
import type { CommentRepository, CommentRow } from '../repositories/comment.repository.js';
import { commentTextProblem, sanitizeCommentText } from './comment.text.js';

/**
 * Display names of authors, asked once when a comment is written (the access token carries the username only).
 * Embedded mode wires it to the user module; without it the display name is the username.
 */
export interface AuthorProfiles {
  displayName(userId: string): Promise<string | null>;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const VIDEO_NOT_FOUND = 'No video with this id';
const COMMENT_NOT_FOUND = 'No comment with this id';

/** The public shape of a comment; a tombstone keeps its place in the thread but neither text nor author. */
export function toComment(r: CommentRow): Comment {
  const author = r.deleted || !r.author_id ? null : { id: r.author_id, username: r.author_username ?? '', displayName: r.author_display_name ?? r.author_username ?? '' };
  return {
    id: r.id,
    author,
    text: r.deleted ? '' : r.text,
    likes: r.like_count,
    replyCount: r.reply_count,
    parentId: r.parent_id,
    createdAt: r.created_at.toISOString(),
    ...(r.edited_at && !r.deleted ? { editedAt: r.edited_at.toISOString() } : {}),
    deleted: r.deleted,
  };
}

function cleanText(raw: string): string {
  const text = sanitizeCommentText(raw);
  const problem = commentTextProblem(text);
  if (problem) throw commonErrors.VALIDATION_FAILED(`The text ${problem}`, [{ field: '/body/text', message: problem }]);
  return text;
}

/** Comments of videos: nested threads, edits, deletion (tombstones), likes. Events go out with each write. */
export class CommentService {
  constructor(
    private readonly deps: {
      database: Database;
      comments: CommentRepository;
      videos: VideoProjection;
      publisher: TransactionalPublisher;
      profiles?: AuthorProfiles;
    },
  ) {}

  /** The video, when the caller may see it (comments exist only on videos the caller can see). */
  private async visibleVideo(videoId: string, userId: string | null, primary = false): Promise<VideoRecord | undefined> {
    const video = await this.deps.videos.get(videoId, { primary });
    return canSee(video, userId) ? video : undefined;
  }

  /** A comment whose video the caller can see, else a 404 that does not tell which of the two is missing. */
  private async visibleComment(id: string, userId: string | null): Promise<{ row: CommentRow; video: VideoRecord }> {
    const row = await this.deps.comments.find(id);
    const video = row ? await this.visibleVideo(row.video_id, userId) : undefined;
    if (!row || !video) throw commentErrors.COMMENT_NOT_FOUND(COMMENT_NOT_FOUND);
    return { row, video };
  }

  async create(principal: Principal, videoId: string, body: CreateCommentBody): Promise<Comment> {
    const text = cleanText(body.text);
    const video = await this.visibleVideo(videoId, principal.userId, true);
    if (!video) throw commentErrors.VIDEO_NOT_FOUND(VIDEO_NOT_FOUND);
    const displayName = (await this.displayName(principal.userId)) ?? principal.username;
    const id = uuidv7();
    const created = await this.deps.database.transaction(async (client) => {
      let parent: CommentRow | undefined;
      if (body.parentId) {
        parent = await this.deps.comments.addReply(client, body.parentId, videoId);
        if (!parent) {
          const existing = await this.deps.comments.lock(client, body.parentId);
          if (existing && existing.video_id === videoId) throw commentErrors.COMMENT_DELETED('The comment replied to was deleted');
          throw commentErrors.PARENT_COMMENT_NOT_FOUND('No comment with this id on this video', [{ field: '/body/parentId', message: 'not found on this video' }]);
        }
      }
      const row = await this.deps.comments.insert(client, {
        id,
        videoId,
        parentId: parent?.id ?? null,
        rootId: parent?.root_id ?? id,
        depth: parent ? parent.depth + 1 : 0,
        author: { id: principal.userId, username: principal.username, displayName },
        text,
        createdAt: new Date(),
      });
      const comment = toComment(row);
      await this.deps.publisher.publish(client, COMMENTS_TOPIC, [
        commentCreatedMessage(principal.userId, { videoId, videoOwnerId: video.ownerId, comment, parentAuthorId: parent?.author_id ?? null }),
      ]);
      return comment;
    });
    this.deps.publisher.committed();
    return created;
  }

  private async displayName(userId: string): Promise<string | null> {
    if (!this.deps.profiles) return null;
    try {
      return await this.deps.profiles.displayName(userId);
    } catch {
      return null; // a profile lookup never blocks commenting; the username stands in
    }
  }

  async list(principal: Principal | null, videoId: string, query: { sort?: CommentSort; limit?: number; cursor?: string }): Promise<Page<Comment>> {
    if (!(await this.visibleVideo(videoId, principal?.userId ?? null))) throw commentErrors.VIDEO_NOT_FOUND(VIDEO_NOT_FOUND);
    const limit = query.limit ?? 20;
    const sort = query.sort ?? 'top';
    if (sort === 'new') {
      const after = query.cursor ? (decodeCursor('new', query.cursor, (k) => k.length === 1 && isUuid(k[0]))[0] as string) : undefined;
      const rows = await this.deps.comments.listNew(videoId, limit + 1, after);
      return page(rows, limit, (last) => encodeCursor('new', [last.id]));
    }
    const after = query.cursor
      ? decodeCursor('top', query.cursor, (k) => k.length === 2 && typeof k[0] === 'number' && Number.isFinite(k[0]) && isUuid(k[1]))
      : undefined;
    const rows = await this.deps.comments.listTop(videoId, limit + 1, after ? { score: after[0] as number, id: after[1] as string } : undefined);
    return page(rows, limit, (last) => encodeCursor('top', [last.hot_score, last.id]));
  }

  async replies(principal: Principal | null, commentId: string, query: { limit?: number; cursor?: string }): Promise<Page<Comment>> {
    await this.visibleComment(commentId, principal?.userId ?? null);
    const limit = query.limit ?? 20;
    const after = query.cursor ? (decodeCursor('replies', query.cursor, (k) => k.length === 1 && isUuid(k[0]))[0] as string) : undefined;
    const rows = await this.deps.comments.listReplies(commentId, limit + 1, after);
    return page(rows, limit, (last) => encodeCursor('replies', [last.id]));
  }

  async edit(principal: Principal, id: string, rawText: string): Promise<Comment> {
    const text = cleanText(rawText);
    return this.deps.database.transaction(async (client) => {
      const row = await this.deps.comments.lock(client, id);
      if (!row || !(await this.visibleVideo(row.video_id, principal.userId, true))) throw commentErrors.COMMENT_NOT_FOUND(COMMENT_NOT_FOUND);
      if (row.deleted) throw commentErrors.COMMENT_DELETED('A deleted comment cannot be edited');
      if (row.author_id !== principal.userId) throw commentErrors.NOT_COMMENT_AUTHOR('Only the author can edit a comment');
      return toComment(await this.deps.comments.setText(client, id, text, new Date()));
    });
  }

  /**
   * By the author or the video's owner. A comment with replies stays as a tombstone; one without disappears (and
   * so does a tombstone parent left without replies). Deleting an already deleted comment changes nothing.
   */
  async delete(principal: Principal, id: string): Promise<void> {
    const published = await this.deps.database.transaction(async (client) => {
      const row = await this.deps.comments.lock(client, id);
      const video = row ? await this.visibleVideo(row.video_id, principal.userId, true) : undefined;
      if (!row || !video) throw commentErrors.COMMENT_NOT_FOUND(COMMENT_NOT_FOUND);
      if (row.deleted) return false;
      const by = row.author_id === principal.userId ? 'author' : video.ownerId === principal.userId ? 'video_owner' : undefined;
      if (!by) throw commentErrors.COMMENT_DELETE_FORBIDDEN("Only the author or the video's owner can delete a comment");
      const mode = row.reply_count > 0 ? 'tombstoned' : 'removed';
      if (mode === 'tombstoned') await this.deps.comments.tombstone(client, id);
      else await this.deps.comments.removeLeaf(client, row);
      await this.deps.publisher.publish(client, COMMENTS_TOPIC, [
        commentDeletedMessage(principal.userId, { videoId: row.video_id, commentId: id, parentId: row.parent_id, mode, deletedBy: by }),
      ]);
      return true;
    });
    if (published) this.deps.publisher.committed();
  }

  /** One like per user and comment; repeating a value changes nothing. */
  async rate(principal: Principal, id: string, value: CommentRatingValue): Promise<CommentRating> {
    return this.deps.database.transaction(async (client) => {
      const row = await this.deps.comments.lock(client, id);
      if (!row || !(await this.visibleVideo(row.video_id, principal.userId, true))) throw commentErrors.COMMENT_NOT_FOUND(COMMENT_NOT_FOUND);
      if (row.deleted) throw commentErrors.COMMENT_DELETED('A deleted comment cannot be rated');
      const likes = await this.deps.comments.like(client, id, principal.userId, value === 'like');
      return { value, likes: likes ?? row.like_count };
    });
  }
}

function page(rows: CommentRow[], limit: number, cursorOf: (last: CommentRow) => string): Page<Comment> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items: items.map(toComment), nextCursor: more ? cursorOf(items[items.length - 1]!) : null };
}
