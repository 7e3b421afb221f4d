import { createHash } from 'node:crypto';
import { ANALYTICS_EVENT_TYPES, TOPICS, type VideoViewedV1 } from '@kinora/contracts';
import { createEvent, toEventMessage, type EventBus, type EventBusLogger } from '@kinora/events';
import type { ViewDedupe } from './view.dedupe.js';

export interface ViewInput {
  videoId: string;
  userId: string | null;
  viewerId: string | undefined;
  /** The client's address as seen through trusted proxies. */
  ip: string;
  watchedSec: number | undefined;
}

/**
 * Records views: once per viewer (the user, else the client's `viewerId`, else its address) per video per window,
 * then published on `video.views`. Runs after the 202 has been sent; `drain()` waits for what is still running.
 */
export class ViewService {
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly dedupe: ViewDedupe,
    private readonly bus: EventBus,
    private readonly logger: EventBusLogger,
  ) {}

  /** The viewer's identity in the dedupe window (hashed: no raw id or address is stored). */
  static viewerKey(input: Pick<ViewInput, 'userId' | 'viewerId' | 'ip'>): string {
    const raw = input.userId ? `u:${input.userId}` : input.viewerId ? `c:${input.viewerId}` : `a:${input.ip}`;
    return createHash('sha256').update(raw).digest('base64url').slice(0, 22);
  }

  record(input: ViewInput): void {
    const p: Promise<void> = this.process(input)
      .then(() => undefined)
      .catch((err: unknown) => this.logger.error({ err, videoId: input.videoId }, 'a view could not be recorded'))
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Returns whether the view was counted (published). */
  async process(input: ViewInput): Promise<boolean> {
    const viewer = ViewService.viewerKey(input);
    let first = true;
    try {
      first = await this.dedupe.firstView(input.videoId, viewer);
    } catch (err) {
      // The dedupe store is down: counting a view twice beats losing it.
      this.logger.warn({ err, videoId: input.videoId }, 'view dedupe unavailable; counting the view');
    }
    if (!first) return false;
    const payload: VideoViewedV1 = { videoId: input.videoId, watchedSec: input.watchedSec ?? null };
    const event = createEvent({
      type: ANALYTICS_EVENT_TYPES.videoViewed,
      key: input.videoId,
      actor: input.userId ? { type: 'user', id: input.userId } : { type: 'anonymous', id: input.viewerId ?? null },
      payload,
    });
    await this.bus.publish(TOPICS.videoViews, [toEventMessage(event)]);
    return true;
  }

  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }
}
