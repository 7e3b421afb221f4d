import { TOPICS } from '@kinora/contracts';
import type { ConsumedBatch, EventBus, Subscription } from '@kinora/events';
import type { Logger } from '@kinora/observability';
import type { CommentNewEvent, Notification } from '@kinora/contracts';
import { toCommentNew, toNotification, type Mapped } from './social.mapping.js';

export interface SocialFanout {
  /** To the video's room on every instance (through the adapter). */
  commentNew(videoId: string, event: CommentNewEvent): void;
  /** To the user's room on every instance. */
  notification(userId: string, notification: Notification): void;
}

/**
 * Consumes `video.comments` and `user.notifications` in ONE consumer group shared by every realtime instance: each
 * event is handled by the instance that owns its partition, which emits it through the socket.io adapter to the
 * clients of all instances. So a client gets it once (twice only after a redelivery, which clients dedupe by id),
 * and when an instance dies its partitions move to the others.
 */
export class SocialConsumers {
  private readonly subs: Subscription[] = [];
  private readonly recent = new Set<string>();

  constructor(
    private readonly deps: { bus: EventBus; fanout: SocialFanout; logger: Logger; groupPrefix: string },
  ) {}

  async start(): Promise<void> {
    const { bus, groupPrefix } = this.deps;
    this.subs.push(
      await bus.subscribe<unknown>({
        group: `${groupPrefix}.comments`,
        topics: [TOPICS.videoComments],
        fromBeginning: false,
        handler: async (batch) => this.each(batch, toCommentNew, (v) => this.deps.fanout.commentNew(v.videoId, v.event)),
      }),
      await bus.subscribe<unknown>({
        group: `${groupPrefix}.notifications`,
        topics: [TOPICS.notifications],
        fromBeginning: false,
        handler: async (batch) => this.each(batch, toNotification, (v) => this.deps.fanout.notification(v.userId, v.notification)),
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.subs.splice(0).map((s) => s.close()));
  }

  private each<T extends { eventId: string }>(batch: ConsumedBatch<unknown>, map: (v: unknown) => Mapped<T>, emit: (v: T) => void): void {
    for (const m of batch.messages) {
      const r = map(m.value);
      if (r.kind === 'invalid') {
        // Never thrown: a malformed event would otherwise block its partition forever.
        this.deps.logger.warn({ topic: m.topic, partition: m.partition, offset: m.offset, reason: r.reason }, 'skipping a malformed event');
        continue;
      }
      if (r.kind === 'skip' || this.seen(r.value.eventId)) continue;
      emit(r.value);
    }
  }

  /** Drops redeliveries this instance already emitted (a handler retried after a failed commit). */
  private seen(id: string): boolean {
    if (this.recent.has(id)) return true;
    this.recent.add(id);
    if (this.recent.size > 10_000) this.recent.delete(this.recent.values().next().value!);
    return false;
  }
}
