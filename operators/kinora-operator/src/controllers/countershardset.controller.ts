import { API_VERSION } from '../api/v1alpha1/common.types.js';
import type { CounterShardSet, CounterShardSetStatus } from '../api/v1alpha1/countershardset.types.js';
import { aggregatorDeployment, aggregatorName, desiredAggregators, desiredPartitions, kafkaTopic, kafkaTopicName } from '../reconcile/countershardset.desired.js';
import { setStandardConditions } from '../runtime/conditions.js';
import { Controller, splitKey, type ReconcileResult, type Reconciler } from '../runtime/controller.js';
import { Informer } from '../runtime/informer.js';
import type { KubeClient, KubeObject } from '../runtime/kube-client.js';
import type { Logger } from '../runtime/logger.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { patchStatus } from '../runtime/status.js';

/** Reads the consumer lag of a group on a topic (messages not yet consumed, summed over partitions). */
export interface LagReader {
  read(input: { brokers: string[]; group: string; topic: string }): Promise<number>;
}

export interface CounterShardSetOptions {
  client: KubeClient;
  namespace?: string;
  fieldManager: string;
  metrics: OperatorMetrics;
  logger: Logger;
  lagReader: LagReader;
  /** Brokers when a CounterShardSet names none (the operator's KAFKA_BROKERS). */
  defaultBrokers: string[];
  /** How often the lag is read again when scaling on lag. Default 30 s. */
  lagIntervalMs?: number;
  workers?: number;
}

const PLURAL = 'countershardsets';

/** CounterShardSet → aggregator Deployment + KafkaTopic; aggregators never outnumber partitions; scales on lag. */
export class CounterShardSetReconciler implements Reconciler {
  constructor(
    private readonly opts: CounterShardSetOptions,
    private readonly cache: { sets: Informer; deployments: Informer; topics: Informer },
  ) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const css = this.cache.sets.get(namespace, name) as unknown as CounterShardSet | undefined;
    if (!css || css.metadata.deletionTimestamp) return; // children go with it (ownerReferences)
    const { client, fieldManager } = this.opts;
    const spec = css.spec;
    const live = this.cache.topics.get(namespace, kafkaTopicName(css)) as { spec?: { partitions?: number } } | undefined;
    const partitions = desiredPartitions(spec.topic.partitions ?? 12, live?.spec?.partitions);

    let lag: number | undefined = css.status?.consumerLag;
    let lagError: string | undefined;
    const source = spec.lag?.source ?? 'none';
    if (source === 'kafka') {
      const brokers = spec.lag?.brokers ? spec.lag.brokers.split(',').map((b) => b.trim()).filter(Boolean) : this.opts.defaultBrokers;
      try {
        if (!spec.lag?.group) throw new Error('spec.lag.group is required when spec.lag.source is kafka');
        if (brokers.length === 0) throw new Error('no Kafka brokers: set spec.lag.brokers or the operator\'s KAFKA_BROKERS');
        lag = await this.opts.lagReader.read({ brokers, group: spec.lag.group, topic: spec.topic.name });
      } catch (err) {
        lagError = err instanceof Error ? err.message : String(err);
      }
    } else {
      lag = undefined;
    }

    const decision = desiredAggregators({
      floor: spec.aggregator.replicas ?? 1,
      max: spec.aggregator.maxReplicas ?? 10,
      partitions,
      lag,
      targetPerReplica: spec.lag?.targetPerReplica ?? 10_000,
    });
    // Topic first: partitions are raised before more aggregators start.
    await client.apply({ apiVersion: 'kafka.strimzi.io/v1', plural: 'kafkatopics', namespace, name: kafkaTopicName(css) }, kafkaTopic(css, partitions), fieldManager);
    await client.apply({ apiVersion: 'apps/v1', plural: 'deployments', namespace, name: aggregatorName(css) }, aggregatorDeployment(css, decision.replicas, partitions), fieldManager);

    const dep = this.cache.deployments.get(namespace, aggregatorName(css)) as { status?: { readyReplicas?: number } } | undefined;
    const ready = dep?.status?.readyReplicas ?? 0;
    const now = new Date();
    const status: CounterShardSetStatus = {
      observedGeneration: css.metadata.generation,
      replicas: decision.replicas,
      readyReplicas: ready,
      partitions,
      ...(lag !== undefined ? { consumerLag: lag } : {}),
      conditions: setStandardConditions(
        css.status?.conditions,
        {
          ready: ready >= decision.replicas ? [true, 'AggregatorsReady', `${ready}/${decision.replicas} aggregators ready`] : [false, 'AggregatorsNotReady', `${ready}/${decision.replicas} aggregators ready`],
          progressing: ready < decision.replicas ? [true, 'ScalingAggregators', `scaling to ${decision.replicas} (${decision.reason})`] : [false, 'Stable', `${decision.replicas} aggregators (${decision.reason})`],
          degraded: lagError
            ? [true, 'LagUnavailable', lagError]
            : decision.reason === 'Partitions'
              ? [true, 'PartitionBound', `lag asks for more aggregators than the ${partitions} partitions; raise spec.topic.partitions`]
              : [false, 'AsExpected', ''],
        },
        css.metadata.generation,
        now,
      ),
    };
    await patchStatus(client, { apiVersion: API_VERSION, plural: PLURAL, namespace, name }, css.status as Record<string, unknown> | undefined, status as Record<string, unknown>, fieldManager);
    if (source === 'kafka') return { requeueAfterMs: this.opts.lagIntervalMs ?? 30_000 };
  }
}

export function createCounterShardSetController(opts: CounterShardSetOptions): { controller: Controller; informers: Informer[] } {
  const log = opts.logger.child({ controller: 'CounterShardSet' });
  const sets = new Informer(opts.client, { apiVersion: API_VERSION, plural: PLURAL, namespace: opts.namespace }, log);
  const deployments = new Informer(opts.client, { apiVersion: 'apps/v1', plural: 'deployments', namespace: opts.namespace, labelSelector: 'kinora.io/countershardset' }, log);
  const topics = new Informer(opts.client, { apiVersion: 'kafka.strimzi.io/v1', plural: 'kafkatopics', namespace: opts.namespace, labelSelector: 'kinora.io/countershardset' }, log);
  const reconciler = new CounterShardSetReconciler(opts, { sets, deployments, topics });
  const controller = new Controller({
    kind: 'CounterShardSet',
    primary: sets,
    owned: [
      { informer: deployments, ownerKind: 'CounterShardSet' },
      { informer: topics, ownerKind: 'CounterShardSet' },
    ],
    reconciler,
    workers: opts.workers,
    metrics: opts.metrics,
    logger: log,
  });
  return { controller, informers: [sets, deployments, topics] };
}

export type { KubeObject };
