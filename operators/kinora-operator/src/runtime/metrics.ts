import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The operator's metrics, on their own registry (two operators in one test process do not collide):
 * reconciles by kind and result, errors, queue depth, reconcile duration, leadership.
 */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'kind' | 'result'>;
  readonly errors: Counter<'kind'>;
  readonly queueDepth: Gauge<'kind'>;
  readonly duration: Histogram<'kind'>;
  readonly leader: Gauge;
  readonly transcodeEvents: Counter<'outcome'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.reconciles = new Counter({ name: 'kinora_operator_reconcile_total', help: 'Reconcile passes by kind and result (success, requeue, error)', labelNames: ['kind', 'result'], registers });
    this.errors = new Counter({ name: 'kinora_operator_reconcile_errors_total', help: 'Reconcile passes that failed, by kind', labelNames: ['kind'], registers });
    this.queueDepth = new Gauge({ name: 'kinora_operator_workqueue_depth', help: 'Keys waiting in the work queue, by kind', labelNames: ['kind'], registers });
    this.duration = new Histogram({
      name: 'kinora_operator_reconcile_duration_seconds',
      help: 'Time of one reconcile pass, by kind',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.leader = new Gauge({ name: 'kinora_operator_leader', help: '1 while this instance holds the leader lease', registers });
    this.transcodeEvents = new Counter({ name: 'kinora_operator_transcode_events_total', help: 'video.transcoded outcomes published, by outcome', labelNames: ['outcome'], registers });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'kinora_operator_' });
  }
}
