import type { Principal, Video } from '@kinora/contracts';
import { canSee, type VideoProjection } from '@kinora/projections';
import type { ChannelNames } from './channel.names.js';
import { recommendationErrors } from './errors.js';
import type { CandidateRow, RecommendationRepository } from './recommendation.repository.js';
import type { VideoDetails } from './video.details.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Related videos and the home feed, from the co-engagement model, the tags and the trending scores. */
export class RecommendationService {
  constructor(private readonly deps: { videos: VideoProjection; repo: RecommendationRepository; channels: ChannelNames; details?: VideoDetails }) {}

  /**
   * Videos co-engaged by the audience of `videoId` (most shared users first), then videos sharing its tags, then the
   * channel's newest, then popular ones; never the video itself. `VIDEO_NOT_FOUND` for a video the caller may not see (as the video service answers).
   */
  async related(principal: Principal | undefined, videoId: string, limit: number): Promise<Page<Video>> {
    const video = await this.deps.videos.get(videoId);
    if (!video || !canSee(video, principal?.userId)) throw recommendationErrors.VIDEO_NOT_FOUND(`no video ${videoId}`);
    const rows = await this.fill(limit, [videoId], [
      (exclude, n) => this.deps.repo.coEngaged(videoId, exclude, n),
      (exclude, n) => this.deps.repo.tagged(video.tags, exclude, n),
      (exclude, n) => this.deps.repo.ofChannel(video.channelId, exclude, n),
      (exclude, n) => this.deps.repo.popular(exclude, n),
    ]);
    return this.page(rows);
  }

  /**
   * Anonymous: popular (trending score, then newest). Signed in: videos co-engaged with what the user watched or
   * liked recently, then videos sharing those videos' tags, then popular ones; what the user already watched or
   * liked only after all of those (never before an unwatched video).
   */
  async home(principal: Principal | undefined, limit: number): Promise<Page<Video>> {
    if (!principal) return this.page(await this.deps.repo.popular([], limit));
    const userId = principal.userId;
    const seen = await this.deps.repo.engagedBy(userId);
    const rows = await this.fill(limit, seen.videoIds, [
      (exclude, n) => this.deps.repo.forUser(userId, exclude, n),
      (exclude, n) => this.deps.repo.tagged(seen.tags, exclude, n),
      (exclude, n) => this.deps.repo.popular(exclude, n),
    ]);
    // A home page never runs dry on a small catalogue: what the user already watched or liked comes last.
    if (rows.length < limit) {
      const chosen = rows.map((r) => r.video_id);
      rows.push(...(await this.deps.repo.popular(chosen, limit - rows.length)));
    }
    return this.page(rows);
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
  private async page(rows: CandidateRow[]): Promise<Page<Video>> {
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
    return { items, nextCursor: null };
  }
}
