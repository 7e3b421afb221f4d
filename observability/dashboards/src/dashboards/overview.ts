import { RATE, namespaceVariable, jobVariable, stat, timeseries, type DashboardSpec } from '../grafana.js';

// Across services: the namespace is chosen, every job is shown (the `job` variable narrows it).
const S = '{namespace=~"$namespace", job=~"$job"}';
const S5xx = '{namespace=~"$namespace", job=~"$job", status_code=~"5.."}';
const SApi = '{namespace=~"$namespace", job=~"$job", route=~"/api/.*", route!~"/api/v1/uploads.*"}';
const N = '{namespace=~"$namespace"}';

export const overview: DashboardSpec = {
  name: 'overview',
  title: 'Kinora / Overview',
  description: 'The whole platform at a glance: requests, errors and latency of every service, the worst routes, saturation and the backlogs that hold user-visible work.',
  variables: [namespaceVariable, jobVariable('http_request_duration_seconds_count')],
  sections: [
    {
      row: 'Now',
      panels: [
        stat({
          title: 'Requests/s',
          description: 'HTTP answers per second, all services (http_request_duration_seconds_count). Behind the gateway a request is counted by the gateway and by the service it reaches.',
          queries: [{ expr: `sum(rate(http_request_duration_seconds_count${S}${RATE}))` }],
          unit: 'reqps',
          span: 4,
        }),
        stat({
          title: '5xx ratio',
          description: 'Share of answers that were 5xx, all services. KinoraHighErrorRatio fires per service above 5% for 5 minutes.',
          queries: [{ expr: `sum(rate(http_request_duration_seconds_count${S5xx}${RATE})) / sum(rate(http_request_duration_seconds_count${S}${RATE}))` }],
          unit: 'percentunit',
          span: 4,
          decimals: 2,
          thresholds: [{ value: null, color: 'green' }, { value: 0.01, color: 'yellow' }, { value: 0.05, color: 'red' }],
          runbooks: ['KinoraHighErrorRatio'],
        }),
        stat({
          title: 'API p99',
          description: '99th percentile of /api request durations (uploads excluded), all services. KinoraApiLatencyHigh fires per service above 1 s for 10 minutes.',
          queries: [{ expr: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket${SApi}${RATE})))` }],
          unit: 's',
          span: 4,
          thresholds: [{ value: null, color: 'green' }, { value: 0.5, color: 'yellow' }, { value: 1, color: 'red' }],
          runbooks: ['KinoraApiLatencyHigh'],
        }),
        stat({
          title: 'Open circuit breakers',
          description: 'Upstreams whose gateway circuit breaker is open (state 1) on any gateway replica: their requests fail fast or are served stale.',
          queries: [{ expr: `count(max by (upstream) (gateway_circuit_breaker_state${N}) == 1) or vector(0)` }],
          unit: 'short',
          span: 4,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
          runbooks: ['KinoraCircuitBreakerOpen'],
        }),
        stat({
          title: 'Uncounted events',
          description: 'Messages on the engagement topics not yet counted by analytics (consumer lag summed over groups, topics and partitions). Counts and rankings lag by this much.',
          queries: [{ expr: `sum(max by (group, topic, partition) (kinora_analytics_consumer_lag${N}))` }],
          unit: 'short',
          span: 4,
          thresholds: [{ value: null, color: 'green' }, { value: 1000, color: 'yellow' }, { value: 10000, color: 'red' }],
          runbooks: ['KinoraAnalyticsConsumerLag'],
        }),
        stat({
          title: 'Transcodes queued',
          description: 'Transcode jobs waiting for a worker (the job table, read by every transcoder at scrape time).',
          queries: [{ expr: `max(transcode_jobs${'{namespace=~"$namespace", state="queued"}'})` }],
          unit: 'short',
          span: 4,
          thresholds: [{ value: null, color: 'green' }, { value: 50, color: 'yellow' }, { value: 500, color: 'red' }],
        }),
      ],
    },
    {
      row: 'Rate, errors, duration by service',
      panels: [
        timeseries({
          title: 'Requests/s by service',
          description: 'HTTP answers per second of each service (scrape job).',
          queries: [{ expr: `sum by (job) (rate(http_request_duration_seconds_count${S}${RATE}))`, legend: '{{job}}' }],
          unit: 'reqps',
        }),
        timeseries({
          title: '5xx ratio by service',
          description: 'Share of 5xx answers per service; the dashed lines are 1% and the 5% of KinoraHighErrorRatio.',
          queries: [
            {
              expr: `sum by (job) (rate(http_request_duration_seconds_count${S5xx}${RATE})) / sum by (job) (rate(http_request_duration_seconds_count${S}${RATE}))`,
              legend: '{{job}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 0.01, color: 'yellow' }, { value: 0.05, color: 'red' }],
          runbooks: ['KinoraHighErrorRatio'],
        }),
        timeseries({
          title: 'API p99 by service',
          description: '99th percentile of /api request durations per service (uploads excluded: they follow the body size). Dashed: the 1 s of KinoraApiLatencyHigh.',
          queries: [{ expr: `histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket${SApi}${RATE})))`, legend: '{{job}}' }],
          unit: 's',
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
          runbooks: ['KinoraApiLatencyHigh'],
        }),
      ],
    },
    {
      row: 'Top errors',
      panels: [
        timeseries({
          title: 'Top 10 routes answering 5xx',
          description: 'The ten (service, route, status) with the most 5xx answers per second: where to look first when the error ratio rises.',
          queries: [
            {
              expr: `topk(10, sum by (job, route, status_code) (rate(http_request_duration_seconds_count${S5xx}${RATE})))`,
              legend: '{{job}} {{route}} {{status_code}}',
            },
          ],
          unit: 'reqps',
          span: 12,
          runbooks: ['KinoraHighErrorRatio'],
        }),
        timeseries({
          title: 'Top 10 routes answering 4xx',
          description: 'The ten (service, route, status) with the most 4xx answers per second. A jump of 401/403 is often a key rotation or a client release; 429 is the rate limiter (see the gateway dashboard).',
          queries: [
            {
              expr: `topk(10, sum by (job, route, status_code) (rate(http_request_duration_seconds_count{namespace=~"$namespace", job=~"$job", status_code=~"4.."}${RATE})))`,
              legend: '{{job}} {{route}} {{status_code}}',
            },
          ],
          unit: 'reqps',
          span: 12,
        }),
      ],
    },
    {
      row: 'Saturation',
      panels: [
        timeseries({
          title: 'CPU by service',
          description: 'CPU seconds per second (cores) used by each service, summed over its pods.',
          queries: [{ expr: `sum by (job) (rate(process_cpu_seconds_total${S}${RATE}))`, legend: '{{job}}' }],
          unit: 'short',
          span: 6,
          min: 0,
        }),
        timeseries({
          title: 'Memory (RSS) by service',
          description: 'Resident memory of each service, summed over its pods. Compare with the pods\' memory limits.',
          queries: [{ expr: `sum by (job) (process_resident_memory_bytes${S})`, legend: '{{job}}' }],
          unit: 'bytes',
          span: 6,
          min: 0,
        }),
        timeseries({
          title: 'Event loop lag p99 (worst pod)',
          description: 'The worst pod\'s 99th percentile event-loop delay per service: above ~100 ms every request of that pod waits.',
          queries: [{ expr: `max by (job) (nodejs_eventloop_lag_p99_seconds${S})`, legend: '{{job}}' }],
          unit: 's',
          span: 6,
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 0.1, color: 'yellow' }, { value: 0.5, color: 'red' }],
        }),
        timeseries({
          title: 'Database pool saturation (worst pod)',
          description: 'Busy connections over the pool size of the busiest pod, per service and pool (primary, replica). At 100% queries queue for a connection (see the PostgreSQL dashboard); KinoraDatabasePoolSaturated fires above 90%.',
          queries: [
            {
              expr: `max by (job, pool) (kinora_db_pool_connections{namespace=~"$namespace", job=~"$job", state="busy"} / ignoring (state) kinora_db_pool_max_connections${S})`,
              legend: '{{job}} {{pool}}',
            },
          ],
          unit: 'percentunit',
          span: 6,
          min: 0,
          max: 1,
          thresholds: [{ value: null, color: 'green' }, { value: 0.75, color: 'yellow' }, { value: 0.9, color: 'red' }],
          runbooks: ['KinoraDatabasePoolSaturated'],
        }),
      ],
    },
  ],
};
