/**
 * The EventBus port: what services publish to and consume from. Adapters (the PostgreSQL-backed in-process bus,
 * Kafka) implement it with the same guarantees, checked by the shared contract suite in `@kinora/events/testing`.
 */

export interface EventMessage<T = unknown> {
  /** Decides the partition (`partitionFor(key, partitions)`): same key → same partition → order kept. */
  key: string;
  /** Travels as JSON: consumers get `JSON.parse(JSON.stringify(value))` (a Date arrives as its ISO string). */
  value: T;
  headers?: Record<string, string>;
}

export interface ConsumedMessage<T = unknown> {
  topic: string;
  partition: number;
  /** int64 as a decimal string. */
  offset: string;
  key: string;
  value: T;
  headers: Record<string, string>;
  /** RFC 3339. */
  timestamp: string;
}

export interface ConsumedBatch<T = unknown> {
  topic: string;
  partition: number;
  /** In offset order, never empty, at most `maxBatchSize`. */
  messages: ConsumedMessage<T>[];
}

/**
 * Where an exactly-once consumer keeps its positions (committed in its own database transaction together with the
 * effects of the batch). The bus asks it for the start position on start and on every (re)assignment.
 */
export interface OffsetStore {
  /** The next offset to read (int64 decimal string), or null when the group has none for this partition. */
  load(group: string, topic: string, partition: number): Promise<string | null>;
}

export interface SubscribeOptions<T = unknown> {
  group: string;
  topics: string[];
  /**
   * Resolves → the batch is committed (at-least-once). Throws → the same messages are delivered again after a
   * backoff, and later messages of that partition wait until it succeeds.
   */
  handler: (batch: ConsumedBatch<T>) => Promise<void>;
  /** Default 100. */
  maxBatchSize?: number;
  /** Where a group with no committed offset starts: the oldest message (default) or the end of the log. */
  fromBeginning?: boolean;
  /** When given, consumption starts from it (on start and on every reassignment) instead of the bus's offsets. */
  offsetStore?: OffsetStore;
}

export interface Subscription {
  /** Stops fetching, waits for the in-flight handler, commits, leaves the group (its partitions move on). */
  close(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor?: number;
}

export interface EventBus {
  /** Creates the topics that do not exist; existing topics are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  /** Batched; the key decides the partition. Resolves once every message is durably stored. */
  publish<T>(topic: string, messages: EventMessage<T>[]): Promise<void>;
  /** Resolves once the member has joined its group. */
  subscribe<T>(opts: SubscribeOptions<T>): Promise<Subscription>;
  /** Closes every subscription of this bus and its connections (not a pool passed in by the caller). */
  close(): Promise<void>;
}

/** The logger the adapters accept: pino's signature, so a pino logger fits as is. */
export interface EventBusLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: EventBusLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Kafka's topic name rules, enforced by every adapter so a name that works embedded also works on Kafka. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function assertTopicName(name: string): void {
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new TypeError(`invalid topic name ${JSON.stringify(name)}: use 1-249 characters of [a-zA-Z0-9._-]`);
  }
}

/**
 * The checks every adapter's `subscribe` makes, the same way: a non-empty group, at least one topic, each a valid
 * name (duplicates dropped), a handler, a positive whole `maxBatchSize` (default 100).
 */
export function checkSubscribeOptions<T>(opts: SubscribeOptions<T>): { group: string; topics: string[]; maxBatchSize: number } {
  if (typeof opts.group !== 'string' || opts.group === '') throw new TypeError('subscribe needs a non-empty group');
  if (!Array.isArray(opts.topics) || opts.topics.length === 0) throw new TypeError('subscribe needs at least one topic');
  opts.topics.forEach(assertTopicName);
  if (typeof opts.handler !== 'function') throw new TypeError('subscribe needs a handler');
  const maxBatchSize = opts.maxBatchSize ?? 100;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
    throw new RangeError(`maxBatchSize must be a positive integer, got ${opts.maxBatchSize}`);
  }
  return { group: opts.group, topics: [...new Set(opts.topics)], maxBatchSize };
}
