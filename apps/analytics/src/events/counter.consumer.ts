import { DECODE_ERROR_HEADER } from '@kinora/events';
import type { ConsumedBatch, ConsumedMessage, EventBus, EventBusLogger, Subscription } from '@kinora/events';
import { counterEffect, ENGAGEMENT_TOPICS, UnprocessableEventError, type CounterEffect } from './engagement.mapping.js';
import type { ChannelDelta, CounterRepository, FlushRows, HourlyDelta, VideoDelta } from '../repositories/counter.repository.js';
import { dayOf, type FactsRepository } from '../repositories/facts.repository.js';
import type { AnalyticsMetrics, LagSource } from '../metrics.js';

export const COUNTERS_GROUP = 'analytics.counters';

/** Headers a dead-lettered message carries besides its own. */
export const DLQ_HEADERS = {
  topic: 'dlq-original-topic',
  partition: 'dlq-original-partition',
  offset: 'dlq-original-offset',
  error: 'dlq-error',
  attempts: 'dlq-attempts',
  failedAt: 'dlq-failed-at',
  group: 'dlq-group',
} as const;

export interface CounterConsumerOptions {
  bus: EventBus;
  counters: CounterRepository;
  facts: FactsRepository;
  metrics: AnalyticsMetrics;
  logger: EventBusLogger;
  /** How often the aggregated deltas are written (ms). */
  flushIntervalMs: number;
  /** The days hourly facts may be written for (the partitioned window). */
  factWindow: () => { first: number; last: number };
  group?: string;
  topics?: readonly string[];
  /** Messages per handler call. Default 100. */
  maxBatchSize?: number;
  /**
   * Group members this process runs (default 1). Each fetches its own share of the partitions, so one member's
   * fetch (the broker's reply, decompression off the main thread) overlaps the counting of another's batch.
   */
  members?: number;
  /** Flush as soon as this many distinct entities (videos, channels, video-hours) wait in memory. Default 100000. */
  maxPendingEntities?: number;
  /** Flush as soon as this many events wait in memory. Default 1000000. */
  maxPendingEvents?: number;
  /** Attempts at processing a message before it is dead-lettered, and the delays between them. */
  deadLetter?: { attempts?: number; initialBackoffMs?: number; maxBackoffMs?: number };
  /** Extra per-message check that may throw (treated like a bad payload); tests inject failures with it. */
  guard?: (message: ConsumedMessage<unknown>) => void;
  /** End offsets of the topics, for the lag gauge. */
  lagSource?: LagSource;
}

interface Bucket {
  videos: Map<string, VideoDelta>;
  channels: Map<string, ChannelDelta>;
  hourly: Map<string, HourlyDelta>;
  events: number;
}

/** This member's hold on one partition. Replaced (never reused) on every claim. */
interface PartitionState {
  topic: string;
  partition: number;
  epoch: string;
  /** The stored next_offset the unflushed deltas start from (null: none stored yet). */
  from: string | null;
  /** The next offset to count; null until the first message when nothing was stored. */
  next: bigint | null;
  /** Another member claimed it after us: its messages are not ours to count. */
  lost: boolean;
  bucket: Bucket;
  /** Ids of the events counted last in this partition (at most {@link RECENT_IDS}, oldest first). */
  recent: Set<string>;
  /**
   * Claimed with a stored position: the bus starts up to {@link RECENT_IDS} messages before it (`next`); those were
   * counted by an earlier owner and are read again only to fill `recent`. False once `next` is reached.
   */
  refilling: boolean;
}

export interface FlushResult extends FlushRows {
  events: number;
  partitions: number;
  fenced: number;
}

/**
 * Event ids remembered per partition to skip a second copy of an event: a publisher that retries after a failed
 * publish which the broker had written anyway (the outbox relay does) writes the same envelope again, a few hundred
 * messages later at most. A member that claims a partition (a restart, a rebalance) starts reading this many
 * messages before the stored position and remembers the ids of those that were counted, so a copy that straddles the
 * claim is still recognised.
 */
const RECENT_IDS = 4_096;

const envelopeId = (value: unknown): string | undefined => {
  const id = value !== null && typeof value === 'object' ? (value as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
};

const remember = (recent: Set<string>, id: string): void => {
  recent.add(id);
  if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value as string);
};

const emptyBucket = (): Bucket => ({ videos: new Map(), channels: new Map(), hourly: new Map(), events: 0 });
const RETRYABLE_SQLSTATE = new Set(['40P01', '40001']);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Counts engagement events exactly once. Consumes the engagement topics as one group; each batch's effects are
 * added to in-memory deltas per partition (so a partition's deltas can be dropped alone); a flush writes all of
 * them, the hourly facts and the partitions' next offsets in one transaction. The bus positions every partition at
 * the stored offset (`offsetStore`), so after a crash, a restart or a rebalance the uncounted messages come again
 * and counted ones never do. Claims carry an epoch: a member whose partition was claimed by another since cannot
 * flush it any more (its deltas are dropped; the new owner counts those messages).
 */
export class CounterConsumer {
  readonly group: string;
  private readonly topics: string[];
  private readonly parts = new Map<string, PartitionState>();
  private subscriptions: Subscription[] = [];
  private readonly members: number;
  private timer: NodeJS.Timeout | null = null;
  private flushChain: Promise<unknown> = Promise.resolve();
  private readonly maxEntities: number;
  private readonly maxEvents: number;
  private readonly dlq: { attempts: number; initialBackoffMs: number; maxBackoffMs: number };

  constructor(private readonly opts: CounterConsumerOptions) {
    this.group = opts.group ?? COUNTERS_GROUP;
    this.topics = [...(opts.topics ?? ENGAGEMENT_TOPICS)];
    this.maxEntities = opts.maxPendingEntities ?? 100_000;
    this.maxEvents = opts.maxPendingEvents ?? 1_000_000;
    this.members = opts.members ?? 1;
    if (!Number.isInteger(this.members) || this.members < 1) throw new RangeError(`members must be a positive integer, got ${opts.members}`);
    this.dlq = { attempts: opts.deadLetter?.attempts ?? 3, initialBackoffMs: opts.deadLetter?.initialBackoffMs ?? 100, maxBackoffMs: opts.deadLetter?.maxBackoffMs ?? 2_000 };
    if (opts.lagSource) opts.metrics.collectLagWith(() => this.collectLag());
  }

  async start(): Promise<void> {
    if (this.subscriptions.length > 0) return;
    const options = {
      group: this.group,
      topics: this.topics,
      maxBatchSize: this.opts.maxBatchSize ?? 100,
      fromBeginning: true,
      handler: (batch: ConsumedBatch<unknown>) => this.handle(batch),
      offsetStore: {
        load: async (_group: string, topic: string, partition: number) => {
          const st = await this.claim(topic, partition);
          if (!st.refilling) return st.from ?? '0';
          // Earlier than the stored position: those messages only refill the duplicate window (see `handle`).
          const start = st.next! - BigInt(RECENT_IDS);
          return (start > 0n ? start : 0n).toString();
        },
      },
    };
    // Members join together, so the group settles in one rebalance.
    const joins = await Promise.allSettled(Array.from({ length: this.members }, () => this.opts.bus.subscribe<unknown>(options)));
    const failed = joins.find((j): j is PromiseRejectedResult => j.status === 'rejected');
    const joined = joins.flatMap((j) => (j.status === 'fulfilled' ? [j.value] : []));
    if (failed) {
      await Promise.all(joined.map((s) => s.close().catch(() => undefined)));
      throw failed.reason;
    }
    this.subscriptions = joined;
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.opts.logger.error({ err, group: this.group }, 'counter flush failed; the deltas are kept for the next one'));
    }, this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Leaves the group (the running batch finishes), then writes what is pending. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const subs = this.subscriptions.splice(0);
    await Promise.all(subs.map((s) => s.close()));
    await this.flush().catch((err: unknown) => this.opts.logger.error({ err, group: this.group }, 'final counter flush failed; the events will be counted after a restart'));
  }

  /** The next offset to count of every partition this process holds (null: nothing stored or seen yet). */
  positions(): Array<{ topic: string; partition: number; next: string | null }> {
    const out: Array<{ topic: string; partition: number; next: string | null }> = [];
    for (const st of this.parts.values()) if (!st.lost) out.push({ topic: st.topic, partition: st.partition, next: st.next === null ? null : st.next.toString() });
    return out;
  }

  /** Events counted in memory and not yet flushed. */
  pendingEvents(): number {
    let n = 0;
    for (const st of this.parts.values()) n += st.bucket.events;
    return n;
  }

  /** Writes every pending delta and offset now (one transaction). Flushes never overlap. */
  flush(): Promise<FlushResult> {
    const run = this.flushChain.then(
      () => this.flushWithRetry(),
      () => this.flushWithRetry(),
    );
    this.flushChain = run.catch(() => undefined);
    return run;
  }

  private async claim(topic: string, partition: number): Promise<PartitionState> {
    const c = await this.opts.counters.claim(this.group, topic, partition);
    const st: PartitionState = {
      topic,
      partition,
      epoch: c.epoch,
      from: c.nextOffset,
      next: c.nextOffset === null ? null : BigInt(c.nextOffset),
      lost: false,
      bucket: emptyBucket(),
      recent: new Set(),
      refilling: c.nextOffset !== null && c.nextOffset !== '0',
    };
    // Whatever was pending for this partition is dropped: the bus starts it again at the stored offset.
    this.parts.set(`${topic}/${partition}`, st);
    this.opts.logger.debug({ group: this.group, topic, partition, epoch: c.epoch, offset: c.nextOffset }, 'counter partition claimed');
    return st;
  }

  private async handle(batch: ConsumedBatch<unknown>): Promise<void> {
    const k = `${batch.topic}/${batch.partition}`;
    // The bus claims through offsetStore on assignment; claiming here is a safety net.
    const st = this.parts.get(k) ?? (await this.claim(batch.topic, batch.partition));
    if (st.lost) return;
    const messages = batch.messages;
    // Offsets of a batch ascend: skip what was counted already (a redelivery) with one comparison per message.
    let i = 0;
    if (st.next !== null) {
      const next = st.next;
      if (!st.refilling) {
        while (i < messages.length && BigInt(messages[i]!.offset) < next) i++;
      } else {
        // Counted before the claim: only their ids are kept, as the earlier owner's window had them.
        for (; i < messages.length && BigInt(messages[i]!.offset) < next; i++) this.rememberCounted(st, messages[i]!);
        const last = messages[messages.length - 1];
        if (i < messages.length || (last !== undefined && BigInt(last.offset) + 1n >= next)) st.refilling = false;
      }
      if (i < messages.length && BigInt(messages[i]!.offset) > next) {
        this.opts.logger.warn({ group: this.group, topic: batch.topic, partition: batch.partition, expected: next.toString(), offset: messages[i]!.offset }, 'counter partition continues after a gap');
      }
    }
    if (i >= messages.length) return;
    let counted = 0;
    let duplicates = 0;
    for (; i < messages.length; i++) {
      const m = messages[i]!;
      const id = envelopeId(m.value);
      if (id !== undefined && st.recent.has(id)) {
        duplicates++;
        continue;
      }
      let effect: CounterEffect | undefined;
      try {
        if (m.headers[DECODE_ERROR_HEADER] !== undefined) throw new UnprocessableEventError(`the value is not JSON: ${m.headers[DECODE_ERROR_HEADER]}`);
        this.opts.guard?.(m);
        effect = counterEffect(m.value);
      } catch (err) {
        // A flush may run while this waits: it must see exactly the messages before this one as counted.
        st.next = BigInt(m.offset);
        effect = await this.retryOrDeadLetter(m, err as Error);
        if (this.parts.get(k) !== st || st.lost) return; // claimed anew meanwhile: the bus starts over from the stored offset
        // Dead-lettered: not counted, so not remembered (a replay of it from the dead-letter topic must count).
        if (effect === undefined) continue;
      }
      apply(st.bucket, effect);
      st.bucket.events++;
      counted++;
      if (id !== undefined) remember(st.recent, id);
    }
    st.next = BigInt(messages[messages.length - 1]!.offset) + 1n;
    this.opts.metrics.events.inc({ topic: batch.topic }, counted);
    if (duplicates > 0) this.opts.metrics.duplicates.inc({ topic: batch.topic }, duplicates);
    if (this.pendingEvents() >= this.maxEvents || this.pendingEntities() >= this.maxEntities) await this.flush();
  }

  /**
   * A message the earlier owner of the partition handled: its id joins the window if it was counted, that is if it
   * decodes (one that does not was dead-lettered, and a replay of it from the dead-letter topic must count).
   */
  private rememberCounted(st: PartitionState, m: ConsumedMessage<unknown>): void {
    const id = envelopeId(m.value);
    if (id === undefined || st.recent.has(id) || m.headers[DECODE_ERROR_HEADER] !== undefined) return;
    try {
      counterEffect(m.value);
    } catch {
      return;
    }
    remember(st.recent, id);
  }

  private pendingEntities(): number {
    let n = 0;
    for (const st of this.parts.values()) n += st.bucket.videos.size + st.bucket.channels.size + st.bucket.hourly.size;
    return n;
  }

  /** A message failed once: tries it again with backoff; after `attempts` failures it is dead-lettered (undefined). */
  private async retryOrDeadLetter(m: ConsumedMessage<unknown>, first: Error): Promise<CounterEffect | undefined> {
    let err = first;
    for (let attempt = 1; attempt < this.dlq.attempts; attempt++) {
      await sleep(Math.min(this.dlq.maxBackoffMs, this.dlq.initialBackoffMs * 2 ** (attempt - 1)));
      try {
        this.opts.guard?.(m);
        return counterEffect(m.value);
      } catch (e) {
        err = e as Error;
      }
    }
    if (m.headers[DECODE_ERROR_HEADER] !== undefined) err = new UnprocessableEventError(`the value is not JSON: ${m.headers[DECODE_ERROR_HEADER]}`);
    await this.deadLetter(m, err, this.dlq.attempts);
    return undefined;
  }

  private async deadLetter(m: ConsumedMessage<unknown>, err: Error, attempts: number): Promise<void> {
    const headers: Record<string, string> = { ...m.headers };
    delete headers[DECODE_ERROR_HEADER];
    Object.assign(headers, {
      [DLQ_HEADERS.topic]: m.topic,
      [DLQ_HEADERS.partition]: String(m.partition),
      [DLQ_HEADERS.offset]: m.offset,
      [DLQ_HEADERS.error]: `${err.name}: ${err.message}`.slice(0, 2000),
      [DLQ_HEADERS.attempts]: String(attempts),
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
      [DLQ_HEADERS.group]: this.group,
    });
    await this.opts.bus.publish(`${m.topic}.dlq`, [{ key: m.key, value: m.value, headers }]);
    this.opts.metrics.deadLettered.inc({ topic: m.topic });
    this.opts.logger.warn({ group: this.group, topic: m.topic, partition: m.partition, offset: m.offset, attempts, err }, 'event dead-lettered');
  }

  private async flushWithRetry(): Promise<FlushResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.flushOnce();
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= 3 || code === undefined || !RETRYABLE_SQLSTATE.has(code)) throw err;
        this.opts.logger.warn({ err, attempt }, 'counter flush hit a deadlock or serialization failure; retrying');
      }
    }
  }

  private async flushOnce(): Promise<FlushResult> {
    const started = process.hrtime.bigint();
    const taken: Array<{ st: PartitionState; bucket: Bucket; from: string | null; next: bigint }> = [];
    for (const st of this.parts.values()) {
      if (st.lost || st.next === null) continue;
      const next = st.next.toString();
      if (st.bucket.events === 0 && next === st.from) continue;
      taken.push({ st, bucket: st.bucket, from: st.from, next: st.next });
      st.bucket = emptyBucket();
      st.from = next;
    }
    const result: FlushResult = { videoRows: 0, channelRows: 0, hourlyRows: 0, offsetRows: 0, events: 0, partitions: taken.length, fenced: 0 };
    if (taken.length === 0) return result;

    const window = this.opts.factWindow();
    try {
      const days = new Set<number>();
      for (const t of taken) for (const h of t.bucket.hourly.values()) if (h.hour >= window.first && h.hour < window.last + 86_400_000) days.add(dayOf(h.hour));
      await this.opts.facts.ensureDays(days);
      const { refused, rows } = await this.opts.counters.flush(
        this.group,
        taken.map((t) => ({ topic: t.st.topic, partition: t.st.partition, epoch: t.st.epoch, from: t.from, next: t.next.toString() })),
        (accepted) => this.merge(taken.filter((t) => accepted.has(`${t.st.topic}/${t.st.partition}`)).map((t) => t.bucket), window, result),
      );
      for (const r of refused) {
        const st = this.parts.get(`${r.topic}/${r.partition}`);
        if (st && st.epoch === r.epoch) {
          st.lost = true;
          st.bucket = emptyBucket();
        }
        this.opts.metrics.partitionsLost.inc();
        this.opts.logger.info({ group: this.group, topic: r.topic, partition: r.partition }, 'partition claimed by another member; its pending deltas are left to it');
      }
      Object.assign(result, rows, { fenced: refused.length });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const m = this.opts.metrics;
      m.flushDuration.observe({ result: 'ok' }, seconds);
      for (const [table, n] of [['video_counters', rows.videoRows], ['channel_counters', rows.channelRows], ['video_hourly', rows.hourlyRows], ['consumer_offsets', rows.offsetRows]] as const) {
        m.flushRows.observe({ table }, n);
        m.rowsWritten.inc({ table }, n);
      }
      this.opts.logger.debug({ group: this.group, ...result, ms: Math.round(seconds * 1000) }, 'counters flushed');
      return result;
    } catch (err) {
      this.opts.metrics.flushDuration.observe({ result: 'error' }, Number(process.hrtime.bigint() - started) / 1e9);
      // Nothing was written: give the deltas back to the partitions still held by the same claim.
      for (const t of taken) {
        if (this.parts.get(`${t.st.topic}/${t.st.partition}`) !== t.st || t.st.lost) continue;
        t.st.from = t.from;
        addBucket(t.st.bucket, t.bucket);
      }
      throw err;
    }
  }

  private merge(buckets: Bucket[], window: { first: number; last: number }, result: FlushResult): { videos: Map<string, VideoDelta>; channels: Map<string, ChannelDelta>; hourly: HourlyDelta[] } {
    const merged = emptyBucket();
    for (const b of buckets) {
      addBucket(merged, b);
      result.events += b.events;
    }
    const hourly: HourlyDelta[] = [];
    let outside = 0;
    for (const h of merged.hourly.values()) {
      if (h.hour >= window.first && h.hour < window.last + 86_400_000) hourly.push(h);
      else outside++;
    }
    if (outside > 0) this.opts.metrics.factsOutsideRetention.inc(outside);
    return { videos: merged.videos, channels: merged.channels, hourly };
  }

  private async collectLag(): Promise<void> {
    const source = this.opts.lagSource;
    if (!source) return;
    const stored = await this.opts.counters.positions(this.group);
    for (const topic of this.topics) {
      for (const { partition, high } of await source.endOffsets(topic)) {
        const next = stored.find((s) => s.topic === topic && s.partition === partition)?.nextOffset ?? '0';
        this.opts.metrics.lag.set({ group: this.group, topic, partition: String(partition) }, Math.max(0, Number(BigInt(high) - BigInt(next))));
      }
    }
  }
}

function apply(b: Bucket, e: CounterEffect): void {
  if (e.kind === 'video') {
    const v = b.videos.get(e.id);
    if (v) {
      v.views += e.views;
      v.likes += e.likes;
      v.dislikes += e.dislikes;
      v.comments += e.comments;
    } else b.videos.set(e.id, { views: e.views, likes: e.likes, dislikes: e.dislikes, comments: e.comments });
    if (e.views !== 0 || e.likes !== 0 || e.comments !== 0) {
      const hk = `${e.id}|${e.hour}`;
      const h = b.hourly.get(hk);
      if (h) {
        h.views += e.views;
        h.likes += e.likes;
        h.comments += e.comments;
      } else b.hourly.set(hk, { videoId: e.id, hour: e.hour, views: e.views, likes: e.likes, comments: e.comments });
    }
  } else if (e.kind === 'channel') {
    const c = b.channels.get(e.id);
    if (c) {
      c.subscribers += e.subscribers;
      c.videos += e.videos;
    } else b.channels.set(e.id, { subscribers: e.subscribers, videos: e.videos });
  }
}

function addBucket(into: Bucket, from: Bucket): void {
  for (const [id, d] of from.videos) {
    const v = into.videos.get(id);
    if (v) addTo(v, d);
    else into.videos.set(id, { ...d });
  }
  for (const [id, d] of from.channels) {
    const c = into.channels.get(id);
    if (c) {
      c.subscribers += d.subscribers;
      c.videos += d.videos;
    } else into.channels.set(id, { ...d });
  }
  for (const [k, h] of from.hourly) {
    const x = into.hourly.get(k);
    if (x) {
      x.views += h.views;
      x.likes += h.likes;
      x.comments += h.comments;
    } else into.hourly.set(k, { ...h });
  }
  into.events += from.events;
}

function addTo(into: VideoDelta, d: VideoDelta): void {
  into.views += d.views;
  into.likes += d.likes;
  into.dislikes += d.dislikes;
  into.comments += d.comments;
}
