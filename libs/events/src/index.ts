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
export { createEvent, toEventMessage } from './event-envelope.js';
export type { CreateEventInput, EventActor, EventEnvelope } from './event-envelope.js';
export { eventsMigrationsDir } from './migrations.js';
export { createInProcessEventBus } from './adapters/in-process/postgres-log.bus.js';
export type { InProcessEventBus, InProcessEventBusOptions, InProcessPublishOptions } from './adapters/in-process/postgres-log.bus.js';
