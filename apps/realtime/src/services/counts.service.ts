import type { VideoCounts } from '@kinora/contracts';
import type { Logger } from '@kinora/observability';
import type { CountsSource, VideoCounters } from '../ports.js';
import type { PresenceStore } from '../repositories/presence.store.js';

export interface CountsServiceOptions {
  source: CountsSource;
  presence: PresenceStore;
  /** Clients per video on this instance (video rooms with at least one local socket). */
  localWatchers: () => ReadonlyMap<string, number>;
  /** Sends counts to this instance's sockets in the video's room (never through the adapter). */
  push: (counts: VideoCounts) => void;
  logger: Logger;
  /** How often counters and presence are polled (ms). */
  pollMs: number;
  /** Pushes of one video are at least this far apart (ms): the contract's "at most once per second". */
  minGapMs: number;
  /** Videos per call of the counts source. */
  batchSize?: number;
  now?: () => number;
  onFlush?: (seconds: number, pushed: number) => void;
}

interface VideoState {
  counters: VideoCounters | undefined;
  countersAt: number;
  /** Watchers on the other instances, as of the last presence sync. */
  remote: number;
  lastPushed: VideoCounts | undefined;
  lastPushAt: number;
  flushing: boolean;
  /** A push held back by the gap, due at lastPushAt + minGapMs. */
  deferred: NodeJS.Timeout | undefined;
}

const ZERO: VideoCounters = { views: 0, likes: 0, dislikes: 0, comments: 0 };

function same(a: VideoCounts | undefined, b: VideoCounts): boolean {
  return !!a && a.views === b.views && a.likes === b.likes && a.dislikes === b.dislikes && a.comments === b.comments && a.watching === b.watching;
}

/**
 * Live counts of the videos this instance's clients watch. Every instance pushes to its OWN sockets only, so each
 * client gets each update exactly once however many instances run, and the adapter carries none of it. A video's
 * counts are pushed when they differ from what its room last got, at most once per `minGapMs`; everything that
 * changes in between (counter updates, joins and leaves anywhere) is coalesced into the next push.
 */
export class CountsService {
  private readonly videos = new Map<string, VideoState>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = true;
  private readonly now: () => number;

  constructor(private readonly opts: CountsServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.videos.values()) if (s.deferred) clearTimeout(s.deferred);
    await this.ticking;
  }

  /** The counts a joining client gets in its ack (its own socket already in the room). */
  async countsFor(videoId: string): Promise<VideoCounts> {
    const state = this.state(videoId);
    const now = this.now();
    if (!state.counters || now - state.countersAt > this.opts.pollMs) {
      const [fetched, remote] = await Promise.all([
        this.fetch([videoId]),
        state.lastPushAt === 0 ? this.opts.presence.peek([videoId]).catch(() => undefined) : Promise.resolve(undefined),
      ]);
      if (fetched) {
        state.counters = fetched.get(videoId) ?? ZERO;
        state.countersAt = now;
      }
      if (remote) state.remote = remote.get(videoId) ?? 0;
    }
    return this.compose(videoId, state);
  }

  /**
   * Counters of these videos changed (e.g. analytics reported a flush): push at once where the gap allows, else
   * the next poll pushes them.
   */
  changed(videoIds: readonly string[]): void {
    const now = this.now();
    const due: string[] = [];
    for (const id of videoIds) {
      const s = this.videos.get(id);
      if (!s) continue;
      s.countersAt = 0;
      if (!s.flushing && now - s.lastPushAt >= this.opts.minGapMs) due.push(id);
      else this.defer(id, s, now);
    }
    if (due.length > 0) void this.flush(due).catch((err: unknown) => this.opts.logger.error({ err }, 'counts flush failed'));
  }

  /** One poll: presence sync, counters of every locally watched video, pushes. */
  async tick(): Promise<void> {
    const started = performance.now();
    const local = this.opts.localWatchers();
    const ids = [...local.keys()];
    for (const [id, s] of this.videos) {
      if (local.has(id)) continue;
      if (s.deferred) clearTimeout(s.deferred);
      this.videos.delete(id);
    }
    let remote: Map<string, number> | undefined;
    try {
      remote = await this.opts.presence.sync(local, ids);
    } catch (err) {
      this.opts.logger.warn({ err: { message: (err as Error).message } }, 'presence sync failed: watching counts of other instances are stale');
    }
    for (const id of ids) {
      const s = this.state(id);
      if (remote) s.remote = remote.get(id) ?? 0;
    }
    const pushed = await this.flush(ids);
    this.opts.onFlush?.((performance.now() - started) / 1000, pushed);
  }

  private async flush(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const states = ids.map((id) => [id, this.state(id)] as const);
    for (const [, s] of states) s.flushing = true;
    try {
      const fetched = await this.fetch(ids);
      const now = this.now();
      let pushed = 0;
      for (const [id, s] of states) {
        if (fetched) {
          s.counters = fetched.get(id) ?? ZERO;
          s.countersAt = now;
        }
        if (!s.counters) continue;
        const counts = this.compose(id, s);
        if (same(s.lastPushed, counts)) continue;
        if (now - s.lastPushAt < this.opts.minGapMs) {
          this.defer(id, s, now); // coalesced: pushed as soon as the gap allows, with whatever is newest then
          continue;
        }
        if ((this.opts.localWatchers().get(id) ?? 0) === 0) continue;
        s.lastPushed = counts;
        s.lastPushAt = now;
        this.opts.push(counts);
        pushed++;
      }
      return pushed;
    } finally {
      for (const [, s] of states) s.flushing = false;
    }
  }

  private defer(id: string, s: VideoState, now: number): void {
    if (s.deferred || this.stopped) return;
    s.deferred = setTimeout(() => {
      s.deferred = undefined;
      if (this.videos.get(id) !== s) return;
      if (s.flushing) {
        this.defer(id, s, this.now());
        return;
      }
      void this.flush([id]).catch((err: unknown) => this.opts.logger.error({ err }, 'counts flush failed'));
    }, Math.max(s.flushing ? 50 : 0, s.lastPushAt + this.opts.minGapMs - now));
    s.deferred.unref();
  }

  private async fetch(ids: string[]): Promise<Map<string, VideoCounters> | undefined> {
    const size = this.opts.batchSize ?? 500;
    try {
      const out = new Map<string, VideoCounters>();
      for (let i = 0; i < ids.length; i += size) {
        for (const [k, v] of await this.opts.source(ids.slice(i, i + size))) out.set(k, v);
      }
      return out;
    } catch (err) {
      this.opts.logger.warn({ err: { message: (err as Error).message } }, 'counts source failed: keeping the last counts');
      return undefined;
    }
  }

  private compose(videoId: string, s: VideoState): VideoCounts {
    const c = s.counters ?? ZERO;
    const local = this.opts.localWatchers().get(videoId) ?? 0;
    return { videoId, views: c.views, likes: c.likes, dislikes: c.dislikes, comments: c.comments, watching: local + s.remote };
  }

  private state(videoId: string): VideoState {
    let s = this.videos.get(videoId);
    if (!s) {
      s = { counters: undefined, countersAt: 0, remote: 0, lastPushed: undefined, lastPushAt: 0, flushing: false, deferred: undefined };
      this.videos.set(videoId, s);
    }
    return s;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((err: unknown) => this.opts.logger.error({ err }, 'counts poll failed'))
        .finally(() => {
          this.ticking = undefined;
          this.schedule();
        });
    }, this.opts.pollMs);
    this.timer.unref();
  }
}
