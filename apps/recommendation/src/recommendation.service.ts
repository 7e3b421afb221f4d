import type { Principal, Video } from '@kinora/contracts';
import { decodeCursor, encodeCursor } from '@kinora/http';
import { canSee, type VideoProjection } from '@kinora/projections';
import type { ChannelNames } from './channel.names.js';
import { recommendationErrors } from './errors.js';
import type { CandidateRow, RecommendationRepository } from './recommendation.repository.js';
import type { VideoDetails } from './video.details.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** How deep a recommendation list pages: the lists are recomputed per request, so later pages cost more. */
export const MAX_DEPTH = 500;

/** A page of a list: `limit` items from `offset` (what the page cursor holds). */
export interface Window {
  limit: number;
  offset: number;
}

/** Related videos and the home feed, from the co-engagement model, the tags and the trending scores. */
export class RecommendationService {
  constructor(private readonly deps: { videos: VideoProjection; repo: RecommendationRepository; channels: ChannelNames; details?: VideoDetails }) {}

  /**
   * Videos co-engaged by the audience of `videoId` (most shared users first), then videos sharing its tags, then the
   * channel's newest, then popular ones; never the video itself. `VIDEO_NOT_FOUND` for a video the caller may not see (as the video service answers).
   */
  async related(principal: Principal | undefined, videoId: string, window: Window): Promise<Page<Video>> {
    const video = await this.deps.videos.get(videoId);
    if (!video || !canSee(video, principal?.userId)) throw recommendationErrors.VIDEO_NOT_FOUND(`no video ${videoId}`);
    const depth = depthOf(window);
    const rows = await this.fill(depth, [videoId], [
      (exclude, n) => this.deps.repo.coEngaged(videoId, exclude, n),
      (exclude, n) => this.deps.repo.tagged(video.tags, exclude, n),
      (exclude, n) => this.deps.repo.ofChannel(video.channelId, exclude, n),
      (exclude, n) => this.deps.repo.popular(exclude, n),
    ]);
    return this.page(rows, window);
  }

  /**
   * Anonymous: popular (trending score, then newest). Signed in: videos co-engaged with what the user watched or
   * liked recently, then videos sharing those videos' tags, then popular ones; what the user already watched or
   * liked only after all of those (never before an unwatched video).
   */
  async home(principal: Principal | undefined, window: Window): Promise<Page<Video>> {
    const depth = depthOf(window);
    if (!principal) return this.page(await this.deps.repo.popular([], depth), window);
    const userId = principal.userId;
    const seen = await this.deps.repo.engagedBy(userId);
    const rows = await this.fill(depth, seen.videoIds, [
      (exclude, n) => this.deps.repo.forUser(userId, exclude, n),
      (exclude, n) => this.deps.repo.tagged(seen.tags, exclude, n),
      (exclude, n) => this.deps.repo.popular(exclude, n),
    ]);
    // A home page never runs dry on a small catalogue: what the user already watched or liked comes last.
    if (rows.length < depth) {
      const chosen = rows.map((r) => r.video_id);
      rows.push(...(await this.deps.repo.popular(chosen, depth - rows.length)));
    }
    return this.page(rows, window);
  }

  /** Takes from each source in turn until `limit` videos, each video once, none of `exclude`. */
  private async fill(limit: number, exclude: string[], sources: Array<(exclude: string[], n: number) => Promise<CandidateRow[]>>): Promise<CandidateRow[]> {
    const out: CandidateRow[] = [];
    const skip = [...exclude];
    for (const source of sources) {
      if (out.length >= limit) break;
      for (const row of await source(skip, limit - out.length)) {
        out.push(row);
        skip.push(row.video_id);
      }
    }
    return out;
  }

  /**
   * The items as the video service shows them (`Video`, the shape of every video list). A video it cannot show right
   * now is built from the projection (zero stats, no thumbnail) so that a list never fails because it is down.
   */
  private async page(all: CandidateRow[], window: Window): Promise<Page<Video>> {
    const end = window.offset + window.limit;
    const rows = all.slice(window.offset, end);
    const nextCursor = all.length > end && end < MAX_DEPTH ? encodeCursor(CURSOR_KIND, [end]) : null;
    const full = this.deps.details ? await this.deps.details.videos(rows.map((r) => r.video_id)).catch(() => new Map<string, Video>()) : new Map<string, Video>();
    const missing = [...new Set(rows.filter((r) => !full.has(r.video_id)).map((r) => r.channel_id))];
    const names = new Map(await Promise.all(missing.map(async (id) => [id, await this.deps.channels.channel(id).catch(() => null)] as const)));
    const items = rows.map((r): Video => {
      const known = full.get(r.video_id);
      if (known) return known;
      const ch = names.get(r.channel_id);
      return {
        id: r.video_id,
        title: r.title,
        description: '',
        tags: r.tags,
        visibility: r.visibility,
        state: r.state,
        channel: { id: r.channel_id, handle: ch?.handle ?? '', name: ch?.name ?? '' },
        ...(r.duration_sec !== null ? { durationSec: r.duration_sec } : {}),
        stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
        createdAt: r.published_at.toISOString(),
        publishedAt: r.published_at.toISOString(),
      };
    });
    return { items, nextCursor };
  }
}

const CURSOR_KIND = 'recommendation';

/** The rows a page needs: those before it, its own, and one more to know whether another page follows. */
function depthOf(window: Window): number {
  return Math.min(window.offset + window.limit + 1, MAX_DEPTH + 1);
}

/**
 * The window of `?limit=&cursor=`. A cursor holds the offset of the page it starts (a recommendation list is
 * recomputed per request, so a list that changed between two pages may repeat or skip a video); a 400 problem for
 * a cursor this service did not make.
 */
export function windowOf(limit: number, cursor: string | undefined): Window {
  if (cursor === undefined) return { limit, offset: 0 };
  const [offset] = decodeCursor(CURSOR_KIND, cursor, (key) => key.length === 1 && Number.isInteger(key[0]) && (key[0] as number) > 0 && (key[0] as number) < MAX_DEPTH);
  return { limit: Math.min(limit, MAX_DEPTH - (offset as number)), offset: offset as number };
}
