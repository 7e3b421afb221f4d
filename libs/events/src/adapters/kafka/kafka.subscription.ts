import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { checkSubscribeOptions } from '../../event-bus.js';
import type { ConsumedMessage, EventBusLogger, SubscribeOptions, Subscription } from '../../event-bus.js';
import { backoffDelayMs } from '../../backoff.js';
import type { BackoffOptions } from '../../backoff.js';

export interface KafkaConsumerSettings {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  /** Longest a fetch waits for data; `close()` waits for the fetch in flight, so keep it short. */
  maxWaitTimeInMs: number;
  maxBytesPerPartition: number;
  maxBytes: number;
  /** Partitions whose batches are handled at once (KafkaJS `partitionsConsumedConcurrently`). */
  partitionsConsumedConcurrently: number;
  retryBackoff: BackoffOptions;
}

/** A subscription of the Kafka adapter: the port's `close()`, plus pausing and resuming the whole member. */
export interface KafkaSubscription extends Subscription {
  /** Stops fetching every assigned partition (back-pressure); the member stays in its group. */
  pause(): void;
  resume(): void;
}

/** The header carrying why a message could not be decoded as JSON (the raw text is then the value). */
export const DECODE_ERROR_HEADER = 'kinora-decode-error';

interface PartitionState {
  generation: number;
  /** Positioning of this assignment (offset store, committed offset or initial position) done. */
  ready: Promise<void>;
  /** The next offset the handler must see; null while positioning. */
  expected: bigint | null;
  /** A seek to `expected` was issued and no batch has been delivered since (a later start is then accepted). */
  seeked: boolean;
  failures: number;
  resumeTimer: NodeJS.Timeout | null;
}

interface Deps {
  kafka: Kafka;
  admin: () => Promise<Admin>;
  logger: EventBusLogger;
  settings: KafkaConsumerSettings;
}

const POSITION_RETRY: BackoffOptions = { initialMs: 200, maxMs: 5_000 };

/**
 * One member of a consumer group on Kafka. Batches are handled with `eachBatch` and resolved manually, chunk by
 * chunk (at most `maxBatchSize` messages per handler call), so a failing chunk leaves everything after it
 * unresolved. A failing partition is paused, rewound to the failed chunk and resumed after a backoff, while the
 * other partitions keep flowing.
 *
 * Positions: on every assignment (KafkaJS `GROUP_JOIN`) each partition is positioned explicitly with a seek: at
 * `offsetStore.load()`, else the group's committed offset, else the log start or end (`fromBeginning`), the latter
 * committed at once so a later owner starts where this one did. Until a partition's position is known its batches
 * wait; a batch that does not start at the expected offset (fetched before the seek) is dropped or cut, so the
 * handler always sees the partition contiguously from where the assignment said.
 */
export class KafkaGroupMember<T> implements KafkaSubscription {
  private readonly group: string;
  private readonly topics: string[];
  private readonly maxBatchSize: number;
  private readonly log: EventBusLogger;
  private readonly consumer: Consumer;
  private readonly states = new Map<string, PartitionState>();
  private generation = 0;
  private positioning: Promise<void> = Promise.resolve();
  private joined = false;
  private crashed: Error | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly deps: Deps,
    private readonly opts: SubscribeOptions<T>,
  ) {
    const checked = checkSubscribeOptions(opts);
    this.group = checked.group;
    this.topics = checked.topics;
    this.maxBatchSize = checked.maxBatchSize;
    this.log = deps.logger;
    const s = deps.settings;
    this.consumer = deps.kafka.consumer({
      groupId: this.group,
      sessionTimeout: s.sessionTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      rebalanceTimeout: s.rebalanceTimeoutMs,
      maxWaitTimeInMs: s.maxWaitTimeInMs,
      maxBytesPerPartition: s.maxBytesPerPartition,
      maxBytes: s.maxBytes,
      retry: { restartOnFailure: async () => this.closing === null },
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => this.onAssignment(e.payload.memberAssignment));
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      if (this.closing) return;
      this.log.error({ err: e.payload.error, group: this.group, restart: e.payload.restart }, 'kafka consumer crashed');
      if (!e.payload.restart) this.crashed = e.payload.error;
    });
  }

  /** Joins the group; resolves once the first assignment is positioned. */
  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: this.opts.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.deps.settings.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.onBatch(payload),
    });
    if (!this.joined) throw this.crashed ?? new Error(`the consumer of group ${this.group} could not join`);
    await this.positioning;
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        for (const s of this.states.values()) if (s.resumeTimer) clearTimeout(s.resumeTimer);
        await this.consumer.disconnect().catch((err: unknown) => this.log.warn({ err, group: this.group }, 'kafka consumer did not disconnect cleanly'));
        this.states.clear();
      })();
    }
    return this.closing;
  }

  pause(): void {
    this.consumer.pause(this.topics.map((topic) => ({ topic })));
  }

  resume(): void {
    this.consumer.resume(this.topics.map((topic) => ({ topic })));
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    this.joined = true;
    const generation = ++this.generation;
    for (const s of this.states.values()) if (s.resumeTimer) clearTimeout(s.resumeTimer);
    this.states.clear();
    const partitions = Object.entries(assignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
    let done!: () => void;
    const ready = new Promise<void>((resolve) => (done = resolve));
    for (const tp of partitions) {
      this.states.set(key(tp.topic, tp.partition), { generation, ready, expected: null, seeked: false, failures: 0, resumeTimer: null });
    }
    // Partitions paused for a retry backoff under the previous assignment are positioned afresh now.
    try {
      this.consumer.resume(partitions.map((tp) => ({ topic: tp.topic, partitions: [tp.partition] })));
    } catch {
      // not running (any more): nothing to resume
    }
    this.log.debug({ group: this.group, generation, assignment }, 'kafka consumer assigned');
    this.positioning = this.positionWithRetry(generation, partitions).finally(done);
  }

  private async positionWithRetry(generation: number, partitions: Array<{ topic: string; partition: number }>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (generation !== this.generation || this.closing) return;
      try {
        await this.position(generation, partitions);
        return;
      } catch (err) {
        const delayMs = backoffDelayMs(attempt, POSITION_RETRY);
        this.log.error({ err, group: this.group, attempt, retryInMs: delayMs }, 'kafka consumer could not position its partitions; retrying');
        await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      }
    }
  }

  private async position(generation: number, partitions: Array<{ topic: string; partition: number }>): Promise<void> {
    if (partitions.length === 0) return;
    const starts = new Map<string, bigint | null>();
    if (this.opts.offsetStore) {
      for (const { topic, partition } of partitions) {
        const stored = await this.opts.offsetStore.load(this.group, topic, partition);
        if (stored !== null && !/^\d{1,19}$/.test(stored)) throw new TypeError(`offsetStore.load returned ${JSON.stringify(stored)}, not a decimal offset`);
        starts.set(key(topic, partition), stored === null ? null : BigInt(stored));
      }
    }
    const admin = await this.deps.admin();
    const topics = [...new Set(partitions.map((tp) => tp.topic))];
    const committed = await admin.fetchOffsets({ groupId: this.group, topics });
    const bounds = new Map<string, { low: bigint; high: bigint }>();
    for (const topic of topics) {
      for (const o of await admin.fetchTopicOffsets(topic)) bounds.set(key(topic, o.partition), { low: BigInt(o.low), high: BigInt(o.high) });
    }
    if (generation !== this.generation || this.closing) return;
    for (const { topic, partition } of partitions) {
      const k = key(topic, partition);
      const state = this.states.get(k);
      if (!state || state.generation !== generation) continue;
      const bound = bounds.get(k) ?? { low: 0n, high: 0n };
      let start = starts.get(k) ?? null;
      if (start === null) {
        const c = committed.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === partition)?.offset;
        if (c !== undefined && /^\d+$/.test(c)) start = BigInt(c);
      }
      if (start === null) start = (this.opts.fromBeginning ?? true) ? bound.low : bound.high;
      // Below the log start (retention deleted it): the oldest message there is.
      if (start < bound.low) start = bound.low;
      state.expected = start;
      state.seeked = true;
      // With auto-commit a seek is also committed, so the initial position is recorded for later owners.
      this.consumer.seek({ topic, partition, offset: start.toString() });
    }
    this.log.debug({ group: this.group, generation, partitions: partitions.length }, 'kafka consumer positioned');
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const k = key(topic, partition);
    const state = this.states.get(k);
    if (!state) return;
    await state.ready;
    if (state !== this.states.get(k) || state.expected === null || isStale() || !isRunning()) return;

    let messages = batch.messages;
    const first = messages.length > 0 ? BigInt(messages[0]!.offset) : null;
    if (first === null) return;
    if (first > state.expected) {
      if (!state.seeked) {
        // Fetched from somewhere past where this partition must continue: go back.
        this.consumer.seek({ topic, partition, offset: state.expected.toString() });
        state.seeked = true;
        return;
      }
      // Right after a seek the log simply continues later (deleted by retention, or offsets without records).
      this.log.warn({ group: this.group, topic, partition, expected: state.expected.toString(), first: first.toString() }, 'kafka partition continues after a gap');
      state.expected = first;
    }
    if (first < state.expected) {
      const expected = state.expected;
      messages = messages.filter((m) => BigInt(m.offset) >= expected);
      if (messages.length === 0) {
        resolveOffset((expected - 1n).toString());
        return;
      }
    }
    state.seeked = false;

    for (let i = 0; i < messages.length; i += this.maxBatchSize) {
      if (!isRunning() || isStale() || this.closing || state !== this.states.get(k)) return;
      const chunk = messages.slice(i, i + this.maxBatchSize);
      try {
        await this.opts.handler({ topic, partition, messages: chunk.map((m) => decode<T>(topic, partition, m)) });
      } catch (err) {
        this.retryLater(state, topic, partition, chunk[0]!.offset, chunk.length, err);
        return;
      }
      const last = chunk[chunk.length - 1]!.offset;
      state.expected = BigInt(last) + 1n;
      state.failures = 0;
      if (state !== this.states.get(k)) return;
      resolveOffset(last);
      await heartbeat();
    }
  }

  /** Pauses the partition, rewinds it to the failed chunk and resumes it after the backoff. */
  private retryLater(state: PartitionState, topic: string, partition: number, offset: string, size: number, err: unknown): void {
    state.failures++;
    const delayMs = backoffDelayMs(state.failures, this.deps.settings.retryBackoff);
    this.log.warn({ err, group: this.group, topic, partition, offset, messages: size, attempts: state.failures, retryInMs: delayMs }, 'event handler failed; the batch will be delivered again');
    try {
      this.consumer.pause([{ topic, partitions: [partition] }]);
      this.consumer.seek({ topic, partition, offset });
    } catch {
      return; // stopping
    }
    state.seeked = true;
    state.resumeTimer = setTimeout(() => {
      state.resumeTimer = null;
      if (this.closing || state !== this.states.get(key(topic, partition))) return;
      try {
        this.consumer.resume([{ topic, partitions: [partition] }]);
      } catch {
        // stopping
      }
    }, delayMs);
    state.resumeTimer.unref();
  }
}

function key(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** The last timestamp converted: the messages of one produce request share their millisecond more often than not. */
let lastTimestamp = '';
let lastIso = '';

function decode<T>(topic: string, partition: number, m: KafkaMessage): ConsumedMessage<T> {
  const headers: Record<string, string> = {};
  const raw = m.headers;
  if (raw) {
    for (const name in raw) {
      const v = raw[name];
      if (v === undefined) continue;
      headers[name] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
    }
  }
  const text = m.value === null ? 'null' : m.value.toString('utf8');
  let value: T;
  try {
    value = JSON.parse(text) as T;
  } catch (err) {
    // Not written by an adapter of this port: hand the raw text on, marked, so the consumer can dead-letter it.
    value = text as T;
    headers[DECODE_ERROR_HEADER] = (err as Error).message;
  }
  if (m.timestamp !== lastTimestamp) {
    lastTimestamp = m.timestamp;
    lastIso = new Date(Number(m.timestamp)).toISOString();
  }
  return { topic, partition, offset: m.offset, key: m.key === null ? '' : m.key.toString('utf8'), value, headers, timestamp: lastIso };
}
