import pg from 'pg';
import { assertTopicName, silentLogger } from '../../event-bus.js';
import type { EventBus, EventBusLogger, EventMessage, SubscribeOptions, Subscription, TopicSpec } from '../../event-bus.js';
import { partitionFor } from '../../partitioner.js';
import type { BackoffOptions } from '../../backoff.js';
import { GroupMember } from './postgres-log.member.js';
import type { GroupMemberSettings } from './postgres-log.member.js';
import { PUBLISHED_CHANNEL, assertPartitionCount, createTopicIfMissing } from './postgres-log.sql.js';

export interface InProcessEventBusOptions {
  /** The database holding schema `events` (migrated with `eventsMigrationsDir`). The bus never ends this pool. */
  pool: pg.Pool;
  logger?: EventBusLogger;
  /** How often an idle consumer polls when no NOTIFY woke it. Default 1000. */
  pollIntervalMs?: number;
  /** Partitions of a topic created by its first publish. Default 3. */
  defaultPartitions?: number;
  /** How often a group member heartbeats and re-checks the group's assignment. Default 3000. */
  heartbeatIntervalMs?: number;
  /**
   * A member whose heartbeat is older than this is out of the group even though its session still exists (a hung
   * process). A member whose session ended is out at once. Default 30000.
   */
  sessionTimeoutMs?: number;
  /** Redelivery delays after a handler throws. Default 500 ms doubling up to 30 s. */
  retryBackoff?: Partial<BackoffOptions>;
  /**
   * Settings of each subscription's own session connection (it holds advisory locks and LISTENs, so it must be a
   * direct session, not a transaction-pooled one). Default: the pool's settings.
   */
  sessionConnection?: pg.ClientConfig;
}

export interface InProcessPublishOptions {
  /**
   * A client inside an open transaction (after `BEGIN`): the events are written in that transaction, so they exist
   * if and only if it commits (a transactional outbox). Consumers see them after the commit.
   */
  client?: pg.ClientBase;
}

export interface InProcessEventBus extends EventBus {
  publish<T>(topic: string, messages: EventMessage<T>[], options?: InProcessPublishOptions): Promise<void>;
}

export function createInProcessEventBus(options: InProcessEventBusOptions): InProcessEventBus {
  return new PostgresLogEventBus(options);
}

interface EncodedMessage {
  key: string;
  value: string;
  headers: string;
}

class PostgresLogEventBus implements InProcessEventBus {
  private readonly pool: pg.Pool;
  private readonly logger: EventBusLogger;
  private readonly defaultPartitions: number;
  private readonly memberSettings: GroupMemberSettings;
  /** Partition counts of topics known to be committed; topics never shrink, so entries never go stale. */
  private readonly partitionCounts = new Map<string, number>();
  private readonly members = new Set<{ close(): Promise<void> }>();
  private closed = false;

  constructor(options: InProcessEventBusOptions) {
    this.pool = options.pool;
    this.logger = options.logger ?? silentLogger;
    this.defaultPartitions = options.defaultPartitions ?? 3;
    assertPartitionCount(this.defaultPartitions, 'defaultPartitions');
    this.memberSettings = {
      connection: options.sessionConnection ?? this.pool.options,
      logger: this.logger,
      defaultPartitions: this.defaultPartitions,
      pollIntervalMs: positive(options.pollIntervalMs ?? 1000, 'pollIntervalMs'),
      heartbeatIntervalMs: positive(options.heartbeatIntervalMs ?? 3000, 'heartbeatIntervalMs'),
      sessionTimeoutMs: positive(options.sessionTimeoutMs ?? 30_000, 'sessionTimeoutMs'),
      retryBackoff: {
        initialMs: positive(options.retryBackoff?.initialMs ?? 500, 'retryBackoff.initialMs'),
        maxMs: positive(options.retryBackoff?.maxMs ?? 30_000, 'retryBackoff.maxMs'),
      },
    };
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const spec of topics) {
      assertTopicName(spec.name);
      assertPartitionCount(spec.partitions, `partitions of topic ${spec.name}`);
    }
    for (const spec of topics) {
      const topic = await createTopicIfMissing(this.pool, spec.name, spec.partitions);
      this.partitionCounts.set(spec.name, topic.partitions);
      if (topic.partitions !== spec.partitions) {
        this.logger.warn({ topic: spec.name, partitions: topic.partitions, requested: spec.partitions }, 'topic exists with another partition count; left as it is');
      }
    }
  }

  async publish<T>(topic: string, messages: EventMessage<T>[], options: InProcessPublishOptions = {}): Promise<void> {
    this.assertOpen();
    assertTopicName(topic);
    const encoded = messages.map(encode);
    if (encoded.length === 0) return;
    if (options.client) {
      if (options.client.getTransactionStatus() !== 'T') {
        throw new Error('publish({ client }) needs a client inside an open transaction (after BEGIN): the events are written in that transaction');
      }
      await this.append(options.client, topic, encoded);
      return;
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await this.append(client, topic, encoded);
      await client.query('COMMIT');
      client.release();
    } catch (err) {
      await client.query('ROLLBACK').then(() => client.release(), (rollbackErr: Error) => client.release(rollbackErr));
      throw err;
    }
  }

  async subscribe<T>(opts: SubscribeOptions<T>): Promise<Subscription> {
    this.assertOpen();
    const member = new GroupMember<T>(this.memberSettings, opts);
    this.members.add(member);
    try {
      await member.start();
    } catch (err) {
      this.members.delete(member);
      await member.close();
      throw err;
    }
    return {
      close: async () => {
        await member.close();
        this.members.delete(member);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const members = [...this.members];
    this.members.clear();
    await Promise.all(members.map((m) => m.close()));
  }

  /**
   * Appends in the caller's transaction. Each partition's counter row is bumped (and so locked until commit) in
   * ascending partition order, so two publishers never wait on each other in a cycle.
   */
  private async append(client: pg.ClientBase, topic: string, messages: EncodedMessage[]): Promise<void> {
    const partitions = await this.partitionCount(client, topic);
    const byPartition = new Map<number, EncodedMessage[]>();
    for (const m of messages) {
      const p = partitionFor(m.key, partitions);
      const list = byPartition.get(p);
      if (list) list.push(m);
      else byPartition.set(p, [m]);
    }
    for (const [partition, list] of [...byPartition].sort(([a], [b]) => a - b)) {
      const { rowCount } = await client.query(
        `WITH counter AS (
           UPDATE events.partitions SET next_offset = next_offset + $3
           WHERE topic = $1 AND partition = $2
           RETURNING next_offset - $3 AS first
         )
         INSERT INTO events.log (topic, partition, "offset", key, value, headers)
         SELECT $1, $2, counter.first + m.n - 1, m.key, m.value::jsonb, m.headers::jsonb
         FROM counter, unnest($4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS m(key, value, headers, n)`,
        [topic, partition, list.length, list.map((m) => m.key), list.map((m) => m.value), list.map((m) => m.headers)],
      );
      if (rowCount !== list.length) throw new Error(`partition ${topic}/${partition} does not exist`);
    }
    // Delivered at commit, and only if the transaction commits.
    await client.query('SELECT pg_notify($1, $2)', [PUBLISHED_CHANNEL, topic]);
  }

  private async partitionCount(client: pg.ClientBase, topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    const { partitions, created } = await createTopicIfMissing(client, topic, this.defaultPartitions);
    // A topic created inside the caller's transaction may still be rolled back: remember it only once committed.
    if (!created) this.partitionCounts.set(topic, partitions);
    else this.logger.info({ topic, partitions }, 'topic created on first publish');
    return partitions;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the event bus is closed');
  }
}

function encode<T>(message: EventMessage<T>): EncodedMessage {
  if (typeof message.key !== 'string') throw new TypeError('an event message needs a string key');
  const value = JSON.stringify(message.value);
  if (value === undefined) throw new TypeError(`the value of the message with key ${message.key} is not JSON-serialisable`);
  return { key: message.key, value, headers: JSON.stringify(message.headers ?? {}) };
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}
