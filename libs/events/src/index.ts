export type {
  ConsumedBatch,
  ConsumedMessage,
  EventBus,
  EventBusLogger,
  EventMessage,
  OffsetStore,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './event-bus.js';
export { partitionFor } from './partitioner.js';
export { backoffDelayMs, type BackoffOptions } from './backoff.js';
export { createEvent, toEventMessage } from './event-envelope.js';
export type { CreateEventInput, EventActor, EventEnvelope } from './event-envelope.js';
export { eventsMigrationsDir } from './migrations.js';
export { createInProcessEventBus } from './adapters/in-process/postgres-log.bus.js';
export type { InProcessEventBus, InProcessEventBusOptions, InProcessPublishOptions } from './adapters/in-process/postgres-log.bus.js';
export { inTransactionPublisher, OutboxRelay, OutboxWriter, outboxMigrationsDir } from './outbox/index.js';
export type { OutboxRelayOptions, TransactionalPublisher } from './outbox/index.js';
export { createKafkaEventBus } from './adapters/kafka/kafka.bus.js';
export type { KafkaEventBus, KafkaEventBusOptions, TopicOffsets } from './adapters/kafka/kafka.bus.js';
export type { KafkaCompression } from './adapters/kafka/kafka.producer.js';
export { DECODE_ERROR_HEADER } from './adapters/kafka/kafka.subscription.js';
export type { KafkaConsumerSettings, KafkaSubscription } from './adapters/kafka/kafka.subscription.js';
export { openEventBus, platformTopics } from './open-event-bus.js';
export type { OpenEventBusOptions } from './open-event-bus.js';
