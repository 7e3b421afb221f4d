import type { CounterShardSet } from '../api/v1alpha1/countershardset.types.js';
import { CONTAINER_SECURITY, POD_SECURITY, childLabels, dnsLabel, ownerRef, selectorLabels } from './owner.js';

export interface ReplicaDecision {
  replicas: number;
  /** Why the count is what it is: floor, lag, capped by maxReplicas, capped by partitions. */
  reason: 'Floor' | 'Lag' | 'MaxReplicas' | 'Partitions';
}

/**
 * How many aggregators: enough for the lag (one per `targetPerReplica` messages), at least the floor, at most
 * `maxReplicas` and never more than the topic's partitions (an aggregator without a partition would sit idle).
 */
export function desiredAggregators(input: { floor: number; max: number; partitions: number; lag: number | undefined; targetPerReplica: number }): ReplicaDecision {
  let replicas = input.floor;
  let reason: ReplicaDecision['reason'] = 'Floor';
  if (input.lag !== undefined && input.lag > 0) {
    const forLag = Math.ceil(input.lag / input.targetPerReplica);
    if (forLag > replicas) {
      replicas = forLag;
      reason = 'Lag';
    }
  }
  if (replicas > input.max) {
    replicas = input.max;
    reason = 'MaxReplicas';
  }
  if (replicas > input.partitions) {
    replicas = input.partitions;
    reason = 'Partitions';
  }
  return { replicas: Math.max(0, replicas), reason };
}

/** Partitions only grow: Kafka cannot take partitions away from a topic. */
export function desiredPartitions(specPartitions: number, livePartitions: number | undefined): number {
  return Math.max(specPartitions, livePartitions ?? 0);
}

export const aggregatorName = (css: CounterShardSet): string => dnsLabel(`${css.metadata.name}-aggregator`);
export const kafkaTopicName = (css: CounterShardSet): string => dnsLabel(`${css.metadata.name}-${css.spec.topic.name}`);

export function aggregatorDeployment(css: CounterShardSet, replicas: number, partitions: number): Record<string, unknown> {
  const s = css.spec;
  const env = [
    { name: 'KINORA_SERVICES', value: 'analytics' },
    { name: 'COUNTER_SHARDS', value: String(s.shards) },
    { name: 'COUNTER_TOPIC', value: s.topic.name },
    { name: 'KAFKA_TOPIC_PARTITIONS', value: String(partitions) },
    ...(s.lag?.group ? [{ name: 'COUNTER_CONSUMER_GROUP', value: s.lag.group }] : []),
    ...(s.aggregator.env ?? []),
  ];
  const requests: Record<string, string> = {};
  if (s.aggregator.resources?.cpu) requests.cpu = s.aggregator.resources.cpu;
  if (s.aggregator.resources?.memory) requests.memory = s.aggregator.resources.memory;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: aggregatorName(css),
      namespace: css.metadata.namespace,
      labels: childLabels(css, 'aggregator'),
      ownerReferences: [ownerRef(css)],
    },
    spec: {
      replicas,
      selector: { matchLabels: selectorLabels(css, 'aggregator') },
      template: {
        metadata: { labels: childLabels(css, 'aggregator') },
        spec: {
          securityContext: POD_SECURITY,
          enableServiceLinks: false,
          containers: [
            {
              name: 'aggregator',
              image: s.aggregator.image,
              command: s.aggregator.command ?? ['node', 'apps/analytics/dist/main.js'],
              env,
              ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
              ...(Object.keys(requests).length > 0 ? { resources: { requests } } : {}),
              securityContext: CONTAINER_SECURITY,
            },
          ],
        },
      },
    },
  };
}

export function kafkaTopic(css: CounterShardSet, partitions: number): Record<string, unknown> {
  return {
    apiVersion: 'kafka.strimzi.io/v1',
    kind: 'KafkaTopic',
    metadata: {
      name: kafkaTopicName(css),
      namespace: css.metadata.namespace,
      labels: { ...childLabels(css, 'aggregator'), 'strimzi.io/cluster': css.spec.topic.cluster },
      ownerReferences: [ownerRef(css)],
    },
    spec: { topicName: css.spec.topic.name, partitions, replicas: css.spec.topic.replicas },
  };
}
