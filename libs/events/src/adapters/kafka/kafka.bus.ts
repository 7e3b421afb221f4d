import { Kafka, Partitioners, type Admin, type Message, type Producer } from 'kafkajs';
import { assertTopicName, silentLogger } from '../../event-bus.js';
import type { EventBus, EventBusLogger, EventMessage, SubscribeOptions, TopicSpec } from '../../event-bus.js';
import type { BackoffOptions } from '../../backoff.js';
import { kafkaLogCreator } from './kafka.logger.js';
import { BatchingProducer, type KafkaCompression } from './kafka.producer.js';
import { KafkaGroupMember, type KafkaConsumerSettings, type KafkaSubscription } from './kafka.subscription.js';

export interface KafkaEventBusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** Default `kinora`. */
  clientId?: string;
  logger?: EventBusLogger;
  /** Replication factor of topics created by `ensureTopics` when their spec gives none. Default 1. */
  defaultReplicationFactor?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  producer?: {
    /** Messages per produce request. Default 100. */
    batchSize?: number;
    /** How long a publish may wait for others to share its request (ms). Default 5. */
    lingerMs?: number;
    /** Default `gzip` (built into KafkaJS; other codecs need extra packages). */
    compression?: KafkaCompression;
    /** Publishes wait while more messages than this are queued. Default 100000. */
    maxQueuedMessages?: number;
  };
  consumer?: Partial<Omit<KafkaConsumerSettings, 'retryBackoff'>>;
  /** Redelivery delays after a handler throws. Default 500 ms doubling up to 30 s. */
  retryBackoff?: Partial<BackoffOptions>;
}

export interface TopicOffsets {
  partition: number;
  /** Oldest offset still in the log. */
  low: string;
  /** Offset the next message will get (the log end). */
  high: string;
}

export interface KafkaEventBus extends EventBus {
  subscribe<T>(opts: SubscribeOptions<T>): Promise<KafkaSubscription>;
  /** The log start and end of every partition of a topic (consumer lag = high - position). */
  topicOffsets(topic: string): Promise<TopicOffsets[]>;
}

export function createKafkaEventBus(options: KafkaEventBusOptions): KafkaEventBus {
  return new KafkaJsEventBus(options);
}

class KafkaJsEventBus implements KafkaEventBus {
  private readonly kafka: Kafka;
  private readonly logger: EventBusLogger;
  private readonly consumerSettings: KafkaConsumerSettings;
  private readonly replicationFactor: number;
  private readonly producerSettings: Required<NonNullable<KafkaEventBusOptions['producer']>>;
  private producer: Promise<BatchingProducer> | null = null;
  private admin: Promise<Admin> | null = null;
  private readonly members = new Set<KafkaGroupMember<unknown>>();
  private closing: Promise<void> | null = null;

  constructor(options: KafkaEventBusOptions) {
    if (!options.brokers || options.brokers.length === 0) throw new TypeError('the Kafka event bus needs at least one broker');
    this.logger = options.logger ?? silentLogger;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'kinora',
      brokers: [...options.brokers],
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      logCreator: kafkaLogCreator(this.logger),
    });
    this.replicationFactor = positiveInt(options.defaultReplicationFactor ?? 1, 'defaultReplicationFactor');
    const p = options.producer ?? {};
    this.producerSettings = {
      batchSize: positiveInt(p.batchSize ?? 100, 'producer.batchSize'),
      lingerMs: nonNegative(p.lingerMs ?? 5, 'producer.lingerMs'),
      compression: p.compression ?? 'gzip',
      maxQueuedMessages: positiveInt(p.maxQueuedMessages ?? 100_000, 'producer.maxQueuedMessages'),
    };
    if (!['none', 'gzip'].includes(this.producerSettings.compression)) {
      throw new RangeError(`producer.compression must be "none" or "gzip", got ${JSON.stringify(this.producerSettings.compression)}`);
    }
    const c = options.consumer ?? {};
    this.consumerSettings = {
      sessionTimeoutMs: positiveInt(c.sessionTimeoutMs ?? 30_000, 'consumer.sessionTimeoutMs'),
      heartbeatIntervalMs: positiveInt(c.heartbeatIntervalMs ?? 3_000, 'consumer.heartbeatIntervalMs'),
      rebalanceTimeoutMs: positiveInt(c.rebalanceTimeoutMs ?? 60_000, 'consumer.rebalanceTimeoutMs'),
      maxWaitTimeInMs: positiveInt(c.maxWaitTimeInMs ?? 1_000, 'consumer.maxWaitTimeInMs'),
      maxBytesPerPartition: positiveInt(c.maxBytesPerPartition ?? 1_048_576, 'consumer.maxBytesPerPartition'),
      maxBytes: positiveInt(c.maxBytes ?? 10_485_760, 'consumer.maxBytes'),
      partitionsConsumedConcurrently: positiveInt(c.partitionsConsumedConcurrently ?? 1, 'consumer.partitionsConsumedConcurrently'),
      retryBackoff: {
        initialMs: positiveInt(options.retryBackoff?.initialMs ?? 500, 'retryBackoff.initialMs'),
        maxMs: positiveInt(options.retryBackoff?.maxMs ?? 30_000, 'retryBackoff.maxMs'),
      },
    };
  }

  async ensureTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const spec of topics) {
      assertTopicName(spec.name);
      positiveInt(spec.partitions, `partitions of topic ${spec.name}`);
    }
    if (topics.length === 0) return;
    const admin = await this.getAdmin();
    // A broker under load may answer for a topic it has just created before every partition has a leader there.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.createMissing(admin, topics);
        return;
      } catch (err) {
        const type = (err as { type?: string }).type;
        const retriable = type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE' || (err as { retriable?: boolean }).retriable === true;
        if (!retriable || attempt >= 20) throw err;
        this.logger.debug({ err, attempt }, 'topics not ready yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * attempt)));
      }
    }
  }

  private async createMissing(admin: Admin, topics: TopicSpec[]): Promise<void> {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: t.replicationFactor ?? this.replicationFactor })),
      });
      this.logger.info({ topics: missing.map((t) => t.name) }, 'kafka topics created');
    }
    // Every partition of every topic has a leader (or this throws and the caller retries).
    const { topics: meta } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
    for (const spec of topics) {
      const partitions = meta.find((m) => m.name === spec.name)?.partitions ?? [];
      if (partitions.length === 0 || partitions.some((p) => p.leader < 0)) {
        throw Object.assign(new Error(`topic ${spec.name} has partitions without a leader yet`), { type: 'LEADER_NOT_AVAILABLE' });
      }
      if (existing.has(spec.name) && partitions.length !== spec.partitions) {
        this.logger.warn({ topic: spec.name, partitions: partitions.length, requested: spec.partitions }, 'topic exists with another partition count; left as it is');
      }
    }
  }

  async publish<T>(topic: string, messages: EventMessage<T>[]): Promise<void> {
    this.assertOpen();
    assertTopicName(topic);
    const encoded = messages.map(encode);
    if (encoded.length === 0) return;
    const batching = await this.getProducer();
    await batching.send(topic, encoded);
  }

  async subscribe<T>(opts: SubscribeOptions<T>): Promise<KafkaSubscription> {
    this.assertOpen();
    const member = new KafkaGroupMember<T>({ kafka: this.kafka, admin: () => this.getAdmin(), logger: this.logger, settings: this.consumerSettings }, opts);
    this.members.add(member as KafkaGroupMember<unknown>);
    try {
      await member.start();
    } catch (err) {
      this.members.delete(member as KafkaGroupMember<unknown>);
      await member.close();
      throw err;
    }
    return {
      close: async () => {
        await member.close();
        this.members.delete(member as KafkaGroupMember<unknown>);
      },
      pause: () => member.pause(),
      resume: () => member.resume(),
    };
  }

  async topicOffsets(topic: string): Promise<TopicOffsets[]> {
    const admin = await this.getAdmin();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high })).sort((a, b) => a.partition - b.partition);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        const members = [...this.members];
        this.members.clear();
        await Promise.all(members.map((m) => m.close()));
        if (this.producer) {
          const producer = await this.producer.catch(() => null);
          await producer?.close();
        }
        if (this.admin) {
          const admin = await this.admin.catch(() => null);
          await admin?.disconnect().catch(() => undefined);
        }
      })();
    }
    return this.closing;
  }

  /** A connected idempotent producer; each call is a new producer id. */
  private readonly connectProducer = async (): Promise<Producer> => {
    // Kafka's murmur2 partitioner (the same as `partitionFor`), named so KafkaJS does not warn about its default.
    const raw = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
    try {
      await raw.connect();
      return raw;
    } catch (err) {
      await raw.disconnect().catch(() => undefined);
      throw err;
    }
  };

  private getProducer(): Promise<BatchingProducer> {
    if (!this.producer) {
      const connecting = this.connectProducer().then((raw) => new BatchingProducer(raw, { ...this.producerSettings, logger: this.logger }, this.connectProducer));
      this.producer = connecting;
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = null;
      });
    }
    return this.producer;
  }

  private getAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      const connecting = admin.connect().then(() => admin);
      this.admin = connecting;
      connecting.catch(() => {
        if (this.admin === connecting) this.admin = null;
      });
    }
    return this.admin;
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('the event bus is closed');
  }
}

function encode<T>(message: EventMessage<T>): Message {
  if (typeof message.key !== 'string') throw new TypeError('an event message needs a string key');
  const value = JSON.stringify(message.value);
  if (value === undefined) throw new TypeError(`the value of the message with key ${message.key} is not JSON-serialisable`);
  return { key: message.key, value, headers: { ...(message.headers ?? {}) } };
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}
