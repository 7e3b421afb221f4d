import { CompressionTypes, type Message, type Producer } from 'kafkajs';
import type { EventBusLogger } from '../../event-bus.js';

export type KafkaCompression = 'none' | 'gzip';

export interface BatchingProducerSettings {
  /** Messages per produce request (the publishes waiting are coalesced up to this many). */
  batchSize: number;
  /** How long the first waiting message may wait for more before the request goes out (ms). */
  lingerMs: number;
  compression: KafkaCompression;
  /** Publishes wait (back-pressure) while more messages than this are queued. */
  maxQueuedMessages: number;
  logger: EventBusLogger;
}

interface Chunk {
  topic: string;
  messages: Message[];
  resolve(): void;
  reject(err: unknown): void;
}

const CODECS: Record<KafkaCompression, CompressionTypes> = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP };

/** Connects a fresh idempotent producer (a new producer id, sequences from 0). */
export type ProducerFactory = () => Promise<Producer>;

/**
 * Coalesces publishes into produce requests of at most `batchSize` messages, sent one at a time. One request in
 * flight keeps the idempotent producer's per-partition sequence numbers in order (KafkaJS assigns them when it
 * builds a request, so two concurrent requests to one partition could be refused as out of order); while a request
 * is in flight the next one fills up, which is where the batching comes from under load. A publish resolves once
 * every message of it is acknowledged by all in-sync replicas (acks=all).
 *
 * A request that fails may still have been written (the broker appended it, then the connection dropped before
 * the answer). KafkaJS hands its sequence numbers back after any failure, so the next request would reuse them and
 * a broker that kept the failed one would take the new messages for a retry of it: acknowledged and dropped. So
 * after a failure the producer is replaced (`renew`: a new producer id) before anything else is sent, the way the
 * Java client bumps its epoch. The failed publishes are rejected: written at most once, never silently lost.
 */
export class BatchingProducer {
  private readonly queue: Chunk[] = [];
  private queued = 0;
  private sending = false;
  private lingerTimer: NodeJS.Timeout | null = null;
  private readonly spaceWaiters: Array<() => void> = [];
  /** A request failed: the producer's sequence numbers may be taken on the broker. */
  private stale = false;
  private renewals = 0;

  constructor(
    private producer: Producer,
    private readonly settings: BatchingProducerSettings,
    private readonly renew?: ProducerFactory,
  ) {}

  /** How many times the producer was replaced after a failed request. */
  get renewed(): number {
    return this.renewals;
  }

  /** Sends what is queued, then disconnects the producer. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
  }

  async send(topic: string, messages: Message[]): Promise<void> {
    while (this.queued >= this.settings.maxQueuedMessages) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    const done: Array<Promise<void>> = [];
    for (let i = 0; i < messages.length; i += this.settings.batchSize) {
      const slice = messages.slice(i, i + this.settings.batchSize);
      done.push(new Promise<void>((resolve, reject) => this.queue.push({ topic, messages: slice, resolve, reject })));
      this.queued += slice.length;
    }
    this.schedule();
    await Promise.all(done);
  }

  /** Sends everything queued now, without lingering; resolves when the queue is empty. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.sending) {
      this.schedule(true);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  private schedule(now = false): void {
    if (this.sending || this.queue.length === 0) return;
    if (now || this.queued >= this.settings.batchSize || this.settings.lingerMs === 0) {
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
      void this.sendNext();
    } else if (!this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        void this.sendNext();
      }, this.settings.lingerMs);
    }
  }

  private async sendNext(): Promise<void> {
    if (this.sending || this.queue.length === 0) return;
    this.sending = true;
    const taken: Chunk[] = [];
    let count = 0;
    while (this.queue.length > 0 && (taken.length === 0 || count + this.queue[0]!.messages.length <= this.settings.batchSize)) {
      const chunk = this.queue.shift()!;
      taken.push(chunk);
      count += chunk.messages.length;
    }
    const byTopic = new Map<string, Message[]>();
    for (const c of taken) {
      const list = byTopic.get(c.topic);
      if (list) list.push(...c.messages);
      else byTopic.set(c.topic, [...c.messages]);
    }
    try {
      if (this.stale && this.renew) {
        // Nothing of `taken` has been sent yet: if this fails they are rejected unwritten and the next try renews.
        const old = this.producer;
        this.producer = await this.renew();
        this.stale = false;
        this.renewals++;
        this.settings.logger.warn({ renewals: this.renewals }, 'kafka producer renewed after a failed request (new producer id)');
        void old.disconnect().catch(() => undefined);
      }
      await this.producer.sendBatch({
        acks: -1,
        compression: CODECS[this.settings.compression],
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      for (const c of taken) c.resolve();
    } catch (err) {
      this.stale = true;
      this.settings.logger.error({ err, messages: count }, 'kafka produce request failed');
      for (const c of taken) c.reject(err);
    } finally {
      this.queued -= count;
      this.sending = false;
      while (this.spaceWaiters.length > 0 && this.queued < this.settings.maxQueuedMessages) this.spaceWaiters.shift()!();
      this.schedule();
    }
  }
}
