import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { COUNTER_EVENT_TYPES, TOPICS, type ChannelCountersV1, type VideoCountersV1, type VideoStats } from '@kinora/contracts';
import type { ConsumedBatch, EventBus, EventBusLogger, Subscription } from '@kinora/events';
import { TtlLru } from '@kinora/resilience';

/** Where a {@link CountersView} loads totals it does not hold: analytics in-process, or its internal HTTP API. */
export interface CountersLoader {
  /** One entry per id it knows (ids it never counted may be missing or zeros). Throws when analytics cannot answer. */
  videos(ids: readonly string[]): Promise<VideoCountersV1[]>;
  channels(ids: readonly string[]): Promise<ChannelCountersV1[]>;
}

export interface ChannelTotals {
  subscriberCount: number;
  videoCount: number;
}

export interface CountersViewOptions {
  loader: CountersLoader;
  /** The `analytics.counters` feed; without it totals are only loaded (and reloaded after `maxAgeMs`). */
  bus?: EventBus;
  /** This process's consumer group on the feed: every instance needs every update, so it is unique per process. */
  group?: string;
  logger?: EventBusLogger;
  /**
   * How old a total may be before a read loads it again (ms). Totals the feed updates are refreshed by it, so this
   * only bounds staleness when updates are missed (bus down, a lagging consumer). Default 60 s with a feed, 5 s without.
   */
  maxAgeMs?: number;
  /**
   * How long past `maxAgeMs` a held total is still answered at once while it is reloaded in the background (ms):
   * stale-while-revalidate, so a read of a cold video never waits for analytics. Default 5 min with a feed (which
   * keeps held totals current; the reload only repairs a missed update), 0 without one.
   */
  staleWhileRevalidateMs?: number;
  /** How long a total is kept to answer when analytics cannot (ms). Default 10 min. */
  staleIfErrorMs?: number;
  /** Entities held per kind. Default 100,000. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry<T> {
  value: T;
  version: bigint;
  /** When it was loaded or last updated by the feed. */
  at: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ZERO_VIDEO: VideoStats = Object.freeze({ views: 0, likes: 0, dislikes: 0, comments: 0 });
const ZERO_CHANNEL: ChannelTotals = Object.freeze({ subscriberCount: 0, videoCount: 0 });
const silent: EventBusLogger = { debug() {}, info() {}, warn() {}, error() {} };
/** Ids per background reload (the HTTP loader splits them further). */
const REFRESH_BATCH = 1_000;
/** Background reloads pause this long after analytics failed to answer (foreground loads still try). */
const REFRESH_PAUSE_AFTER_ERROR_MS = 5_000;

/** A group name unique to this process, for a view's feed (`<service>.counters.<host>-<pid>-<random>`). */
export function countersViewGroup(service: string): string {
  return `${service}.counters.${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * The counters analytics owns, as another service reads them (the video service's `stats`, the user service's
 * channel counts, realtime's live counts). A cache in front of a {@link CountersLoader}, kept current by the
 * `analytics.counters` events: each carries an entity's new totals and version, and the newest version wins whatever
 * order loads and events arrive in. Reads load only what is missing, one load per id at a time; a total older than
 * `maxAgeMs` is answered at once and reloaded in the background, batched (for `staleWhileRevalidateMs`; older than
 * that, the read waits for the load). When analytics cannot answer, the last totals (up to `staleIfErrorMs` old) or
 * zeros are served, so a reader never fails because analytics is down.
 *
 * Staleness: a held total follows the feed, so it is usually only the feed's delivery time behind what analytics has
 * stored (analytics stores counts within `COUNTER_FLUSH_INTERVAL_MS` of the events). When the feed missed an update,
 * the first read after `maxAgeMs` still answers the held total and starts the reload that repairs it.
 */
export class CountersView {
  private readonly videos: TtlLru<string, Entry<VideoStats>>;
  private readonly channels: TtlLru<string, Entry<ChannelTotals>>;
  private readonly loadingVideos = new Map<string, Promise<void>>();
  private readonly loadingChannels = new Map<string, Promise<void>>();
  private readonly listeners = new Set<(updates: VideoCountersV1[]) => void>();
  private readonly maxAgeMs: number;
  private readonly swrMs: number;
  private readonly staleVideos = new Set<string>();
  private readonly staleChannels = new Set<string>();
  private refreshScheduled = false;
  private refreshPausedUntil = 0;
  private refreshing: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly logger: EventBusLogger;
  private subscription: Subscription | undefined;
  private lastLoadError = 0;

  constructor(private readonly opts: CountersViewOptions) {
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? silent;
    this.maxAgeMs = opts.maxAgeMs ?? (opts.bus ? 60_000 : 5_000);
    this.swrMs = Math.max(0, opts.staleWhileRevalidateMs ?? (opts.bus ? 300_000 : 0));
    const keep = Math.max(opts.staleIfErrorMs ?? 600_000, this.maxAgeMs + this.swrMs);
    this.videos = new TtlLru(opts.maxEntries ?? 100_000, keep, this.now);
    this.channels = new TtlLru(opts.maxEntries ?? 100_000, keep, this.now);
  }

  /** Joins the feed (from its end: what is older is loaded on demand). Without a bus, does nothing. */
  async start(): Promise<void> {
    if (!this.opts.bus || this.subscription) return;
    this.subscription = await this.opts.bus.subscribe<unknown>({
      group: this.opts.group ?? countersViewGroup('kinora'),
      topics: [TOPICS.counters],
      fromBeginning: false,
      maxBatchSize: 500,
      handler: async (batch) => this.apply(batch),
    });
  }

  async close(): Promise<void> {
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.close();
  }

  /** Called with the videos whose totals the feed moved forward (after the cache holds them). */
  onVideoCounters(listener: (updates: VideoCountersV1[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The totals of one video at once (no promise) when they are held and fresh, or stale within the
   * stale-while-revalidate window (a background reload is then queued); undefined otherwise (use `statsOf`).
   */
  peek(videoId: string): VideoStats | undefined {
    const key = videoId.toLowerCase();
    const held = this.videos.get(key);
    if (held === undefined) return undefined;
    const age = this.now() - held.at;
    if (age >= this.maxAgeMs) {
      if (age >= this.maxAgeMs + this.swrMs) return undefined;
      this.refreshSoon(this.staleVideos, key);
    }
    return held.value;
  }

  /** Background reloads queued or running have finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.refreshScheduled) await new Promise<void>((resolve) => setImmediate(resolve));
    await this.refreshing;
  }

  /** Totals of these videos (ids that are not UUIDs, or never counted, read as zeros). */
  async statsOf(videoIds: readonly string[]): Promise<Map<string, VideoStats>> {
    if (videoIds.length === 1) {
      // One video (a watch page's read), held and fresh: no sets, no arrays, one lookup.
      const held = this.peek(videoIds[0]!);
      if (held !== undefined) return new Map([[videoIds[0]!, held]]);
    }
    const wanted = [...new Set(videoIds)];
    const keys = wanted.map((id) => id.toLowerCase());
    await this.ensure(keys.filter((k) => UUID.test(k)), this.videos, this.loadingVideos, (ids) => this.loadVideos(ids), this.staleVideos);
    const out = new Map<string, VideoStats>();
    wanted.forEach((id, i) => out.set(id, this.videos.get(keys[i]!)?.value ?? ZERO_VIDEO));
    return out;
  }

  async channelStats(channelId: string): Promise<ChannelTotals> {
    const key = channelId.toLowerCase();
    if (!UUID.test(key)) return ZERO_CHANNEL;
    await this.ensure([key], this.channels, this.loadingChannels, (ids) => this.loadChannels(ids), this.staleChannels);
    return this.channels.get(key)?.value ?? ZERO_CHANNEL;
  }

  /**
   * Loads the ids that are missing or too old, joining loads already running for some of them. With `stale` (a
   * read), totals within the stale-while-revalidate window are left to answer and queued there for a background
   * reload instead; without it (the background reload itself) they are loaded.
   */
  private async ensure<T>(
    keys: string[],
    cache: TtlLru<string, Entry<T>>,
    loading: Map<string, Promise<void>>,
    load: (ids: string[]) => Promise<void>,
    stale?: Set<string>,
  ): Promise<void> {
    const now = this.now();
    const waits = new Set<Promise<void>>();
    const todo: string[] = [];
    for (const k of keys) {
      const e = cache.get(k);
      const age = e === undefined ? Infinity : now - e.at;
      if (age < this.maxAgeMs) continue;
      if (stale && age < this.maxAgeMs + this.swrMs) {
        this.refreshSoon(stale, k);
        continue;
      }
      const running = loading.get(k);
      if (running) waits.add(running);
      else todo.push(k);
    }
    if (todo.length > 0) {
      const run = load(todo).finally(() => {
        for (const k of todo) if (loading.get(k) === run) loading.delete(k);
      });
      for (const k of todo) loading.set(k, run);
      waits.add(run);
    }
    if (waits.size > 0) await Promise.all(waits);
  }

  /** Queues a held, stale total for the next background reload (one per event-loop turn, batched). */
  private refreshSoon(queue: Set<string>, key: string): void {
    if (queue.has(key) || this.now() < this.refreshPausedUntil) return;
    queue.add(key);
    if (this.refreshScheduled) return;
    this.refreshScheduled = true;
    setImmediate(() => {
      this.refreshScheduled = false;
      this.refreshing = this.refreshing.then(() => this.refreshQueued());
    });
  }

  private async refreshQueued(): Promise<void> {
    await this.drain(this.staleVideos, this.videos, this.loadingVideos, (ids) => this.loadVideos(ids));
    await this.drain(this.staleChannels, this.channels, this.loadingChannels, (ids) => this.loadChannels(ids));
  }

  private async drain<T>(queue: Set<string>, cache: TtlLru<string, Entry<T>>, loading: Map<string, Promise<void>>, load: (ids: string[]) => Promise<void>): Promise<void> {
    while (queue.size > 0) {
      const batch: string[] = [];
      for (const key of queue) {
        queue.delete(key);
        batch.push(key);
        if (batch.length >= REFRESH_BATCH) break;
      }
      // The loaders catch their own failures (the held totals stay and keep answering).
      await this.ensure(batch, cache, loading, load).catch(() => undefined);
    }
  }

  private async loadVideos(ids: string[]): Promise<void> {
    let rows: VideoCountersV1[];
    try {
      rows = await this.opts.loader.videos(ids);
    } catch (err) {
      this.loadFailed(err, 'video');
      return; // the last totals (or zeros) are served
    }
    const at = this.now();
    for (const r of rows) {
      const { videoId, version, ...value } = r;
      this.store(this.videos, videoId.toLowerCase(), { value: pickVideo(value), version: BigInt(version), at });
    }
    // Ids analytics did not return have no counts yet.
    for (const id of ids) if (!this.videos.get(id)) this.store(this.videos, id, { value: ZERO_VIDEO, version: 0n, at });
  }

  private async loadChannels(ids: string[]): Promise<void> {
    let rows: ChannelCountersV1[];
    try {
      rows = await this.opts.loader.channels(ids);
    } catch (err) {
      this.loadFailed(err, 'channel');
      return;
    }
    const at = this.now();
    for (const r of rows) this.store(this.channels, r.channelId.toLowerCase(), { value: { subscriberCount: r.subscriberCount, videoCount: r.videoCount }, version: BigInt(r.version), at });
    for (const id of ids) if (!this.channels.get(id)) this.store(this.channels, id, { value: ZERO_CHANNEL, version: 0n, at });
  }

  /** Keeps the newer of what is held and `next`; an equal version only refreshes the time (the totals are the same). */
  private store<T>(cache: TtlLru<string, Entry<T>>, key: string, next: Entry<T>): boolean {
    const held = cache.get(key);
    // An equal version holds the same totals: the held object stays (readers may key work on its identity).
    if (held && held.version >= next.version) {
      if (next.at > held.at) {
        held.at = next.at;
        cache.set(key, held); // confirmed: kept as long as a new entry
      }
      return false;
    }
    cache.set(key, next);
    return !held || next.version > held.version;
  }

  private loadFailed(err: unknown, kind: string): void {
    const now = this.now();
    this.refreshPausedUntil = now + REFRESH_PAUSE_AFTER_ERROR_MS;
    this.staleVideos.clear();
    this.staleChannels.clear();
    if (now - this.lastLoadError < 10_000) return;
    this.lastLoadError = now;
    this.logger.warn({ err: { message: (err as Error)?.message ?? String(err) }, kind }, 'counters could not be loaded from analytics: serving the last known totals (or zeros)');
  }

  private apply(batch: ConsumedBatch<unknown>): void {
    const at = this.now();
    const moved: VideoCountersV1[] = [];
    for (const m of batch.messages) {
      const event = m.value as { type?: unknown; payload?: unknown } | null;
      if (!event || typeof event !== 'object') continue;
      if (event.type === COUNTER_EVENT_TYPES.videoCountersChanged && isVideoCounters(event.payload)) {
        const p = event.payload;
        const key = p.videoId.toLowerCase();
        // Only what this process reads (held or being loaded) is kept; the rest is loaded when first asked for.
        if (!this.videos.get(key) && !this.loadingVideos.has(key)) {
          moved.push(p);
          continue;
        }
        if (this.store(this.videos, key, { value: pickVideo(p), version: BigInt(p.version), at })) moved.push(p);
      } else if (event.type === COUNTER_EVENT_TYPES.channelCountersChanged && isChannelCounters(event.payload)) {
        const p = event.payload;
        const key = p.channelId.toLowerCase();
        if (!this.channels.get(key) && !this.loadingChannels.has(key)) continue;
        this.store(this.channels, key, { value: { subscriberCount: p.subscriberCount, videoCount: p.videoCount }, version: BigInt(p.version), at });
      }
    }
    if (moved.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(moved);
      } catch (err) {
        this.logger.error({ err }, 'a counters listener failed');
      }
    }
  }
}

function pickVideo(v: { views: number; likes: number; dislikes: number; comments: number }): VideoStats {
  return { views: v.views, likes: v.likes, dislikes: v.dislikes, comments: v.comments };
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
const isVersion = (v: unknown): v is string => typeof v === 'string' && /^[0-9]{1,19}$/.test(v);

function isVideoCounters(p: unknown): p is VideoCountersV1 {
  const v = p as Partial<VideoCountersV1> | null;
  return !!v && typeof v.videoId === 'string' && UUID.test(v.videoId) && isVersion(v.version) && isCount(v.views) && isCount(v.likes) && isCount(v.dislikes) && isCount(v.comments);
}

function isChannelCounters(p: unknown): p is ChannelCountersV1 {
  const c = p as Partial<ChannelCountersV1> | null;
  return !!c && typeof c.channelId === 'string' && UUID.test(c.channelId) && isVersion(c.version) && isCount(c.subscriberCount) && isCount(c.videoCount);
}
