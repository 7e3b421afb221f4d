import { RATE, jobVariable, namespaceVariable, sel, stat, timeseries, type DashboardSpec } from '../grafana.js';

export const counters: DashboardSpec = {
  name: 'counters',
  title: 'Kinora / Counters',
  description: 'The analytics counter pipeline: events counted per second, rows written to PostgreSQL, flush sizes, fenced partitions and facts outside the retention window.',
  variables: [namespaceVariable, jobVariable('kinora_analytics_events_total', 'Consumer')],
  sections: [
    {
      row: 'Events',
      panels: [
        stat({
          title: 'Events/s',
          description: 'Engagement events (views, likes, subscriptions, …) counted per second, all topics.',
          queries: [{ expr: `sum(rate(kinora_analytics_events_total${sel()}${RATE}))` }],
          unit: 'ops',
          span: 6,
          height: 8,
        }),
        timeseries({
          title: 'Events/s by topic',
          description: 'Engagement events counted per second, by topic.',
          queries: [{ expr: `sum by (topic) (rate(kinora_analytics_events_total${sel()}${RATE}))`, legend: '{{topic}}' }],
          unit: 'ops',
          span: 9,
          stack: true,
        }),
        timeseries({
          title: 'Events/s by consumer pod',
          description: 'Events counted per second by each analytics pod: an even spread means the partitions are balanced over the group.',
          queries: [{ expr: `sum by (instance) (rate(kinora_analytics_events_total${sel()}${RATE}))`, legend: '{{instance}}' }],
          unit: 'ops',
          span: 9,
        }),
      ],
    },
    {
      row: 'Writes',
      panels: [
        timeseries({
          title: 'Rows written by table',
          description: 'Rows upserted per second by flushes, by table (counter shards, hourly facts, offsets). Many events fold into one row: this is the write load on PostgreSQL.',
          queries: [{ expr: `sum by (table) (rate(kinora_analytics_rows_written_total${sel()}${RATE}))`, legend: '{{table}}' }],
          unit: 'ops',
        }),
        timeseries({
          title: 'Flush size',
          description: 'Rows per flush by table, median and 99th percentile. Larger flushes mean fewer, bigger transactions (higher throughput, more latency).',
          queries: ['0.5', '0.99'].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (table, le) (rate(kinora_analytics_flush_rows_bucket${sel()}${RATE})))`,
            legend: `{{table}} p${Number(q) * 100}`,
          })),
          unit: 'short',
          min: 0,
        }),
        timeseries({
          title: 'Events per row written',
          description: 'Events counted per row written: how much the in-memory folding saves the database.',
          queries: [{ expr: `sum(rate(kinora_analytics_events_total${sel()}${RATE})) / sum(rate(kinora_analytics_rows_written_total${sel()}${RATE}))`, legend: 'events per row' }],
          unit: 'short',
          min: 0,
        }),
      ],
    },
    {
      row: 'Ownership and retention',
      panels: [
        timeseries({
          title: 'Fenced partitions',
          description: 'Flushes refused per second because another group member had claimed the partition (a rebalance). Occasional spikes are normal during deploys; a steady rate means members keep losing partitions (session timeouts, slow flushes).',
          queries: [{ expr: `sum by (instance) (rate(kinora_analytics_partitions_fenced_total${sel()}${RATE}))`, legend: '{{instance}}' }],
          unit: 'ops',
          span: 12,
          thresholds: [{ value: null, color: 'green' }, { value: 0.1, color: 'yellow' }],
        }),
        timeseries({
          title: 'Facts outside retention',
          description: 'Hourly fact deltas per second not stored because their day is outside the partitioned window (late or replayed events; the counters still count them).',
          queries: [{ expr: `sum(rate(kinora_analytics_facts_outside_retention_total${sel()}${RATE}))`, legend: 'dropped facts' }],
          unit: 'ops',
          span: 12,
        }),
      ],
    },
  ],
};
