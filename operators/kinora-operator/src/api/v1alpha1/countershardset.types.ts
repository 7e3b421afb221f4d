import { Type, type Static } from '@sinclair/typebox';
import { ConditionsSchema, ResourceRequestsSchema, StringEnum, type CustomResource, type KindDefinition } from './common.types.js';

export const LAG_SOURCES = ['none', 'kafka'] as const;

export const CounterShardSetSpecSchema = Type.Object({
  shards: Type.Integer({ minimum: 1, maximum: 10000, default: 100, description: 'counter shards per video (COUNTER_SHARDS of the aggregators)' }),
  aggregator: Type.Object({
    image: Type.String({ minLength: 1, description: 'Kinora image; the aggregators run the analytics consumers' }),
    command: Type.Optional(Type.Array(Type.String(), { description: 'default: node apps/analytics/dist/main.js' })),
    replicas: Type.Integer({ minimum: 0, maximum: 1000, default: 1, description: 'aggregators at no lag (the floor)' }),
    maxReplicas: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'ceiling when scaling on lag (never above the partitions)' }),
    resources: Type.Optional(ResourceRequestsSchema),
    env: Type.Optional(Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), value: Type.String() }), { description: 'extra environment' })),
  }),
  topic: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 249, description: 'Kafka topic the aggregators consume' }),
    cluster: Type.String({ minLength: 1, description: 'Strimzi Kafka cluster (strimzi.io/cluster label of the KafkaTopic)' }),
    partitions: Type.Integer({ minimum: 1, maximum: 10000, default: 12, description: 'partitions; only ever raised' }),
    replicas: Type.Integer({ minimum: 1, maximum: 32767, default: 1 }),
  }),
  lag: Type.Optional(
    Type.Object({
      source: StringEnum(LAG_SOURCES, { default: 'none', description: 'where consumer lag is read: none, or the Kafka consumer group' }),
      group: Type.Optional(Type.String({ minLength: 1, description: 'consumer group of the aggregators' })),
      brokers: Type.Optional(Type.String({ description: 'bootstrap brokers, comma list; default: the operator\'s KAFKA_BROKERS' })),
      targetPerReplica: Type.Integer({ minimum: 1, default: 10000, description: 'messages of lag one aggregator is expected to absorb' }),
    }),
  ),
});
export type CounterShardSetSpec = Static<typeof CounterShardSetSpecSchema>;

export const CounterShardSetStatusSchema = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  replicas: Type.Optional(Type.Integer({ minimum: 0, description: 'aggregators asked for' })),
  readyReplicas: Type.Optional(Type.Integer({ minimum: 0 })),
  partitions: Type.Optional(Type.Integer({ minimum: 0 })),
  consumerLag: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(ConditionsSchema),
});
export type CounterShardSetStatus = Static<typeof CounterShardSetStatusSchema>;

export type CounterShardSet = CustomResource<CounterShardSetSpec, CounterShardSetStatus>;

export const CounterShardSetKind: KindDefinition = {
  kind: 'CounterShardSet',
  plural: 'countershardsets',
  singular: 'countershardset',
  shortNames: ['css'],
  categories: ['kinora'],
  scope: 'Namespaced',
  description: 'The counter tier: aggregator Deployment, counter shards and the Kafka topic partitions, scaled on consumer lag.',
  spec: CounterShardSetSpecSchema,
  status: CounterShardSetStatusSchema,
  printerColumns: [
    { name: 'Shards', type: 'integer', jsonPath: '.spec.shards' },
    { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Partitions', type: 'integer', jsonPath: '.status.partitions' },
    { name: 'Lag', type: 'integer', jsonPath: '.status.consumerLag' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
