import { RATE, jobVariable, namespaceVariable, sel, stat, timeseries, type DashboardSpec } from '../grafana.js';

export const kafka: DashboardSpec = {
  name: 'kafka',
  title: 'Kinora / Kafka consumers',
  description: 'The analytics consumers of the engagement topics: lag per group, topic and partition, dead letters, duplicates skipped, the event rate and how long a flush to PostgreSQL takes.',
  variables: [namespaceVariable, jobVariable('kinora_analytics_events_total', 'Consumer')],
  sections: [
    {
      row: 'Lag',
      panels: [
        stat({
          title: 'Total lag',
          description: 'Messages written to the engagement topics and not yet counted in the database, all groups and partitions.',
          queries: [{ expr: `sum(max by (group, topic, partition) (kinora_analytics_consumer_lag${sel()}))` }],
          unit: 'short',
          span: 6,
          height: 8,
          thresholds: [{ value: null, color: 'green' }, { value: 1000, color: 'yellow' }, { value: 10000, color: 'red' }],
          runbooks: ['KinoraAnalyticsConsumerLag'],
        }),
        timeseries({
          title: 'Lag by group and topic',
          description: 'Uncounted messages per consumer group and topic (log end minus committed offset, summed over partitions). Dashed: the 10000 of KinoraAnalyticsConsumerLag.',
          queries: [{ expr: `sum by (group, topic) (max by (group, topic, partition) (kinora_analytics_consumer_lag${sel()}))`, legend: '{{group}} {{topic}}' }],
          unit: 'short',
          span: 18,
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 10000, color: 'red' }],
          runbooks: ['KinoraAnalyticsConsumerLag'],
        }),
        timeseries({
          title: 'Lag by partition',
          description: 'Uncounted messages of each partition. One partition far behind the others: its owner is stuck or fenced (see the counters dashboard), or the partition is hot.',
          queries: [{ expr: `max by (group, topic, partition) (kinora_analytics_consumer_lag${sel()})`, legend: '{{topic}}/{{partition}} {{group}}' }],
          unit: 'short',
          span: 24,
          min: 0,
          runbooks: ['KinoraAnalyticsConsumerLag'],
        }),
      ],
    },
    {
      row: 'Throughput and dead letters',
      panels: [
        timeseries({
          title: 'Events consumed by topic',
          description: 'Engagement events counted per second, by topic.',
          queries: [{ expr: `sum by (topic) (rate(kinora_analytics_events_total${sel()}${RATE}))`, legend: '{{topic}}' }],
          unit: 'ops',
          stack: true,
        }),
        timeseries({
          title: 'Dead-lettered messages',
          description: 'Messages sent to <topic>.dlq per second: they will not be counted until replayed (npm run dlq:replay).',
          queries: [{ expr: `sum by (topic) (rate(kinora_analytics_dead_lettered_total${sel()}${RATE}))`, legend: '{{topic}}' }],
          unit: 'ops',
          thresholds: [{ value: null, color: 'green' }, { value: 0.001, color: 'red' }],
          runbooks: ['KinoraDeadLetters'],
        }),
        timeseries({
          title: 'Duplicate events skipped',
          description:
            'Events not counted per second because an event with the same id was counted shortly before in its partition: second copies of a publish retried after a failure the broker had in fact written (the outbox relay after a broker restart). A steady rate means a publisher retries more than broker failures explain.',
          queries: [{ expr: `sum by (topic) (rate(kinora_analytics_duplicate_events_total${sel()}${RATE}))`, legend: '{{topic}}' }],
          unit: 'ops',
          min: 0,
          runbooks: ['KinoraDeadLetters'],
        }),
        timeseries({
          title: 'Flush duration',
          description: 'p50 and p99 of one flush (one transaction: counter shards, hourly facts and the offsets), by result. Slow flushes are the database; failed ones are retried and show as lag.',
          queries: ['0.5', '0.99'].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (result, le) (rate(kinora_analytics_flush_duration_seconds_bucket${sel()}${RATE})))`,
            legend: `{{result}} p${Number(q) * 100}`,
          })),
          unit: 's',
          min: 0,
          span: 12,
        }),
        timeseries({
          title: 'Flushes by result',
          description: 'Flushes per second by result (ok, error: an error is retried and shows as lag).',
          queries: [{ expr: `sum by (result) (rate(kinora_analytics_flush_duration_seconds_count${sel()}${RATE}))`, legend: '{{result}}' }],
          unit: 'ops',
          span: 12,
          stack: true,
        }),
      ],
    },
  ],
};
