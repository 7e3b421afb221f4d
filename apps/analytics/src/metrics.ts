import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface LagSource {
  /** The log end (next offset to be written) of each partition of a topic. */
  endOffsets(topic: string): Promise<Array<{ partition: number; high: string }>>;
}

/** The analytics consumers' metrics, on the process's registry (`/metrics`). */
export class AnalyticsMetrics {
  readonly events: Counter<'topic'>;
  readonly flushDuration: Histogram<'result'>;
  readonly flushRows: Histogram<'table'>;
  readonly rowsWritten: Counter<'table'>;
  readonly deadLettered: Counter<'topic'>;
  readonly duplicates: Counter<'topic'>;
  readonly partitionsLost: Counter;
  readonly factsOutsideRetention: Counter;
  readonly lag: Gauge<'group' | 'topic' | 'partition'>;
  private lagCollector: (() => Promise<void>) | null = null;

  constructor(registry: Registry) {
    const registers = [registry];
    this.events = new Counter({ name: 'kinora_analytics_events_total', help: 'Engagement events counted, by topic (rate() = events/s)', labelNames: ['topic'], registers });
    this.flushDuration = new Histogram({
      name: 'kinora_analytics_flush_duration_seconds',
      help: 'Duration of a counter flush (one transaction: shards, facts, offsets)',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.flushRows = new Histogram({
      name: 'kinora_analytics_flush_rows',
      help: 'Rows written by one flush, by table',
      labelNames: ['table'],
      buckets: [0, 1, 10, 100, 1_000, 10_000, 100_000],
      registers,
    });
    this.rowsWritten = new Counter({ name: 'kinora_analytics_rows_written_total', help: 'Rows written by flushes, by table', labelNames: ['table'], registers });
    this.deadLettered = new Counter({ name: 'kinora_analytics_dead_lettered_total', help: 'Messages sent to a dead-letter topic, by original topic', labelNames: ['topic'], registers });
    this.duplicates = new Counter({
      name: 'kinora_analytics_duplicate_events_total',
      help: 'Events not counted because an event with the same id was counted shortly before in its partition (a publish retried after a failure the broker had written anyway)',
      labelNames: ['topic'],
      registers,
    });
    this.partitionsLost = new Counter({ name: 'kinora_analytics_partitions_fenced_total', help: 'Flushes of a partition refused because another member had claimed it', registers });
    this.factsOutsideRetention = new Counter({ name: 'kinora_analytics_facts_outside_retention_total', help: 'Hourly fact deltas not stored: their day is outside the partitioned window (counters still count them)', registers });
    const self = this;
    this.lag = new Gauge({
      name: 'kinora_analytics_consumer_lag',
      help: 'Messages of a partition not yet counted in the database (log end minus stored offset)',
      labelNames: ['group', 'topic', 'partition'],
      registers,
      async collect() {
        await self.lagCollector?.();
      },
    });
  }

  /** How the lag gauge is filled at scrape time. */
  collectLagWith(fn: () => Promise<void>): void {
    this.lagCollector = fn;
  }
}
