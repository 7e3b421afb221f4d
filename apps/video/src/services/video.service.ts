import { uuidv7 } from 'uuidv7';
import type { CreateVideoBody, Principal, UpdateVideoBody, Video, VideoChannel, VideoSort, VideoStats } from '@kinora/contracts';
import type { Database } from '@kinora/db';
import { commonErrors } from '@kinora/http';
import type { EventActor } from '@kinora/events';
import type { ObjectStore } from '@kinora/storage';
import { videoErrors } from '../errors.js';
import type { LifecyclePublisher } from '../events/lifecycle.events.js';
import type { ChannelDirectory, ChannelRequest, VideoStatsReader } from '../ports.js';
import { partsPrefix, uploadKey } from '../repositories/object-store.datastore.js';
import type { UploadRepository } from '../repositories/upload.repository.js';
import { FEED_CACHE_ITEMS, type VideoCache } from '../repositories/video.cache.js';
import type { PageRequest, VideoPatch, VideoRecord, VideoRepository } from '../repositories/video.repository.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { VideoPresenter } from './video.presenter.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ServiceLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/** Anyone sees a ready public or unlisted video; everything else only its owner sees. */
export function canView(v: VideoRecord, viewer: Principal | null): boolean {
  if (viewer && viewer.userId === v.ownerId) return true;
  return v.state === 'ready' && v.visibility !== 'private';
}

/** PostgreSQL text cannot hold NUL; such input is refused rather than silently changed. */
function refuseNul(fields: Record<string, string | readonly string[] | undefined>): void {
  for (const [field, value] of Object.entries(fields)) {
    const values = typeof value === 'string' ? [value] : (value ?? []);
    if (values.some((v) => v.includes('\u0000'))) {
      throw commonErrors.VALIDATION_FAILED(`/body/${field} must not contain NUL characters`, [{ field: `/body/${field}`, message: 'must not contain NUL characters' }]);
    }
  }
}

const userActor = (p: Principal): EventActor => ({ type: 'user', id: p.userId });

function normaliseTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of tags) {
    const tag = raw.trim();
    if (tag === '' || seen.has(tag.toLowerCase())) continue;
    seen.add(tag.toLowerCase());
    out.push(tag);
  }
  return out;
}

export interface VideoServiceDeps {
  db: Database;
  videos: VideoRepository;
  uploads: UploadRepository;
  events: LifecyclePublisher;
  channels: ChannelDirectory;
  stats: VideoStatsReader;
  presenter: VideoPresenter;
  store: ObjectStore;
  logger: ServiceLogger;
  /**
   * Told after a change commits, so cached copies are dropped (media access decisions, the row and the first pages
   * of feeds in the cache); awaited, so the writer's next read sees the change.
   */
  onChanged?: VideoChangedHook;
  /** Metadata and first feed pages through the cache; without it every read queries the database. */
  cache?: VideoCache;
  /** How long creation waits for the uploader's channel to show up (replicas lagging a registration). */
  channelWaitMs?: number;
}

/** After a change of `videoId` committed; `feeds` false when the video cannot be in a feed before or after. */
export type VideoChangedHook = (videoId: string, change?: { channelId?: string; feeds?: boolean }) => void | Promise<void>;

/** `Retry-After` of a creation refused because the channel directory could not say which channel is the caller's. */
const CHANNEL_RETRY_AFTER = { 'retry-after': '2' } as const;

/** Videos as the API sees them: creation, reads with visibility rules, changes, deletion, lists and search. */
export class VideoService {
  constructor(private readonly d: VideoServiceDeps) {}

  /** `request`: the caller's token and read-your-writes position, for the user service's channel lookup. */
  async create(principal: Principal, body: CreateVideoBody, request: ChannelRequest = {}): Promise<Video> {
    refuseNul({ title: body.title, description: body.description, tags: body.tags });
    // While the primary is down the insert is refused anyway: refuse before asking the user service.
    this.d.db.assertWritable();
    const channel = await this.channelOf(principal, request);
    const title = body.title.trim();
    const v = await this.d.db.transaction(async (client) => {
      const created = await this.d.videos.insert(client, {
        id: uuidv7(),
        ownerId: principal.userId,
        channelId: channel.id,
        channelHandle: channel.handle,
        channelName: channel.name,
        title,
        description: body.description ?? '',
        tags: normaliseTags(body.tags ?? []),
        visibility: body.visibility ?? 'public',
        createdAt: new Date(),
      });
      await this.d.events.changed(client, created, userActor(principal));
      return created;
    });
    this.d.events.committed();
    // A read of this id before it existed may have been remembered as "not found".
    await this.d.onChanged?.(v.id, { feeds: false });
    return this.d.presenter.toVideo(v, { isOwner: true });
  }

  private async channelOf(principal: Principal, request: ChannelRequest): Promise<VideoChannel> {
    const deadline = Date.now() + (this.d.channelWaitMs ?? 2000);
    for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
      let channel: VideoChannel | null;
      try {
        channel = await this.d.channels.channelOf(principal, request);
      } catch (err) {
        this.d.logger.error({ err }, 'channel directory failed');
        // A refusal because something behind this service failed (the user service or its database), with
        // Retry-After: the gateways do not count it against the video service (its breaker would refuse reads too).
        throw videoErrors.CHANNEL_UNAVAILABLE('The channel of this account cannot be looked up right now; try again', undefined, CHANNEL_RETRY_AFTER);
      }
      if (channel) return channel;
      if (Date.now() >= deadline) throw videoErrors.CHANNEL_UNAVAILABLE('This account has no channel yet; try again in a moment', undefined, CHANNEL_RETRY_AFTER);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** A video the viewer may see; 404 otherwise (existence of others' private or unfinished videos is not revealed). */
  async get(viewer: Principal | null, id: string): Promise<Video> {
    const v = this.d.cache ? await this.d.cache.byId(id) : await this.d.videos.findById(id);
    if (!v || !canView(v, viewer)) throw videoErrors.VIDEO_NOT_FOUND('No video with this id');
    const stats = await this.d.stats.statsOf([v.id]);
    return this.d.presenter.toVideo(v, { isOwner: viewer?.userId === v.ownerId, ...this.statsFor(stats, v.id) });
  }

  /**
   * {@link get} answered from this process's memory, without a promise, when it holds the row and the counts fresh
   * and the viewer may see the video; undefined otherwise (call `get`, which also answers the 404s).
   */
  peek(viewer: Principal | null, id: string): Video | undefined {
    const stats = this.heldStats(id);
    if (stats === undefined) return undefined;
    const v = this.heldRow(id);
    if (!v || !canView(v, viewer)) return undefined;
    return this.d.presenter.toVideo(v, { isOwner: viewer?.userId === v.ownerId, stats });
  }

  /**
   * The row and the counts {@link peek} would present, each the shared object this process holds (replaced, never
   * changed, when the video or its counts change), or undefined: for a reader that keeps its own rendering per pair
   * and checks it with two comparisons (the route's early path). Reading the counts queues their background reload
   * when they are stale, as `peek` does.
   */
  heldStats(id: string): VideoStats | undefined {
    return this.d.stats.peek?.(id);
  }

  heldRow(id: string): VideoRecord | null | undefined {
    return this.d.cache?.peek(id);
  }

  /** Loads a video for a change by `principal`: 404 when they cannot see it, 403 when they can but do not own it. */
  async requireOwned(principal: Principal, id: string): Promise<VideoRecord> {
    const v = await this.d.videos.findById(id, { primary: true });
    if (!v || !canView(v, principal)) throw videoErrors.VIDEO_NOT_FOUND('No video with this id');
    if (v.ownerId !== principal.userId) throw videoErrors.NOT_VIDEO_OWNER('Only the owner can change this video');
    return v;
  }

  async update(principal: Principal, id: string, body: UpdateVideoBody): Promise<Video> {
    refuseNul({ title: body.title, description: body.description, tags: body.tags });
    if (body.title === undefined && body.description === undefined && body.tags === undefined && body.visibility === undefined) {
      throw commonErrors.VALIDATION_FAILED('Send at least one of title, description, tags, visibility', [{ field: '/body', message: 'has nothing to change' }]);
    }
    await this.requireOwned(principal, id);
    const v = await this.d.db.transaction(async (client) => {
      const current = await this.d.videos.lock(client, id);
      if (!current || current.deletedAt) throw videoErrors.VIDEO_NOT_FOUND('No video with this id');
      const patch: VideoPatch = {};
      if (body.title !== undefined) patch.title = body.title.trim();
      if (body.description !== undefined) patch.description = body.description;
      if (body.tags !== undefined) patch.tags = normaliseTags(body.tags);
      if (body.visibility !== undefined) patch.visibility = body.visibility;
      const visibility = body.visibility ?? current.visibility;
      if (current.state === 'ready' && current.publishedAt === null && visibility !== 'private') patch.publishedAt = new Date();
      const updated = await this.d.videos.update(client, id, patch);
      await this.d.events.changed(client, updated, userActor(principal));
      return updated;
    });
    this.d.events.committed();
    await this.d.onChanged?.(id, { channelId: v.channelId });
    const stats = await this.d.stats.statsOf([v.id]);
    return this.d.presenter.toVideo(v, { isOwner: true, ...this.statsFor(stats, v.id) });
  }

  /** Deletes the video (a tombstone row stays), its upload and its media, and publishes a `deleted` snapshot. */
  async remove(principal: Principal, id: string): Promise<void> {
    const owned = await this.requireOwned(principal, id);
    await this.d.db.transaction(async (client) => {
      const current = await this.d.videos.lock(client, id);
      if (!current || current.deletedAt) return;
      const deleted = await this.d.videos.update(client, id, { deletedAt: new Date(), progress: null });
      await this.d.uploads.delete(client, id);
      await this.d.events.changed(client, deleted, userActor(principal), true);
    });
    this.d.events.committed();
    await this.d.onChanged?.(id, { channelId: owned.channelId });
    await this.removeMedia(id);
  }

  /** Everything stored for a video. Also run when a transcoder reports on a video deleted in the meantime. */
  async removeMedia(id: string): Promise<void> {
    for (const remove of [() => this.d.store.deletePrefix(`media/${id}/`), () => this.d.store.deletePrefix(partsPrefix(id)), () => this.d.store.delete(uploadKey(id))]) {
      try {
        await remove();
      } catch (err) {
        this.d.logger.error({ err, videoId: id }, 'could not remove media of a deleted video');
      }
    }
  }

  async list(sort: VideoSort, limit: number, cursor?: string): Promise<Page<Video>> {
    if (!cursor && this.d.cache && limit <= FEED_CACHE_ITEMS) {
      const rows = await this.d.cache.firstPage(sort);
      const cursorOf = sort === 'trending' ? (v: VideoRecord) => encodeCursor(v.trendingScore ?? 0, v.id) : (v: VideoRecord) => encodeCursor(v.publishedAt!.toISOString(), v.id);
      return this.page(rows.slice(0, limit + 1), limit, cursorOf);
    }
    if (sort === 'trending') {
      const page: PageRequest = { limit, ...(cursor ? { after: decodeCursor(cursor, 'number') } : {}) };
      const rows = await this.d.videos.listTrending(page);
      return this.page(rows, limit, (v) => encodeCursor(v.trendingScore ?? 0, v.id));
    }
    const page: PageRequest = { limit, ...(cursor ? { after: decodeCursor(cursor, 'time') } : {}) };
    const rows = await this.d.videos.listRecent(page);
    return this.page(rows, limit, (v) => encodeCursor(v.publishedAt!.toISOString(), v.id));
  }

  /** Public ready videos of a channel. An unknown channel is an empty list: channels belong to the user service. */
  async channelVideos(channelId: string, limit: number, cursor?: string): Promise<Page<Video>> {
    if (!cursor && this.d.cache && limit <= FEED_CACHE_ITEMS) {
      const rows = await this.d.cache.channelFirstPage(channelId);
      return this.page(rows.slice(0, limit + 1), limit, (v) => encodeCursor(v.publishedAt!.toISOString(), v.id));
    }
    const page: PageRequest = { limit, ...(cursor ? { after: decodeCursor(cursor, 'time') } : {}) };
    const rows = await this.d.videos.listRecent(page, channelId);
    return this.page(rows, limit, (v) => encodeCursor(v.publishedAt!.toISOString(), v.id));
  }

  /** The caller's own videos in every state and visibility (their studio), newest created first. */
  async mine(principal: Principal, limit: number, cursor?: string): Promise<Page<Video>> {
    const page: PageRequest = { limit, ...(cursor ? { after: decodeCursor(cursor, 'time') } : {}) };
    const rows = await this.d.videos.listByOwner(principal.userId, page);
    return this.page(rows, limit, (v) => encodeCursor(v.createdAt.toISOString(), v.id), { isOwner: true });
  }

  async search(q: string, limit: number, cursor?: string): Promise<Page<Video>> {
    const page: PageRequest = { limit, ...(cursor ? { after: decodeCursor(cursor, 'number') } : {}) };
    // NUL cannot reach PostgreSQL; as a separator it means nothing to the search either.
    const query = q.replace(/\u0000/g, ' ').trim();
    if (query === '') throw commonErrors.VALIDATION_FAILED('/query/q must not be empty', [{ field: '/query/q', message: 'must not be empty' }]);
    const rows = await this.d.videos.search(query, page);
    return this.page(rows, limit, (v) => encodeCursor(v.rank, v.id));
  }

  private async page<R extends VideoRecord>(rows: R[], limit: number, cursorOf: (v: R) => string, opts: { isOwner?: boolean } = {}): Promise<Page<Video>> {
    const items = rows.slice(0, limit);
    const stats = await this.d.stats.statsOf(items.map((v) => v.id));
    const now = Date.now();
    return {
      // Public lists: nobody is the owner here (no upload URL to hand out); the owner's own list says so.
      items: items.map((v) => this.d.presenter.toVideo(v, { isOwner: opts.isOwner === true, nowMs: now, ...this.statsFor(stats, v.id) })),
      nextCursor: rows.length > limit ? cursorOf(items[items.length - 1]!) : null,
    };
  }

  private statsFor(stats: Map<string, Video['stats']>, id: string): { stats?: Video['stats'] } {
    const s = stats.get(id);
    return s ? { stats: s } : {};
  }
}
