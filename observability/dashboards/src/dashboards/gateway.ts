import { RATE, jobVariable, namespaceVariable, sel, stat, stateTimeline, timeseries, type DashboardSpec } from '../grafana.js';

export const gateway: DashboardSpec = {
  name: 'gateway',
  title: 'Kinora / Gateway',
  description: 'The API gateway: rate, errors and duration by route, rate-limit rejections, and per upstream the circuit breaker, failures and stale answers.',
  // Gateway jobs are the ones exporting the breaker gauge (one series per upstream from start-up).
  variables: [namespaceVariable, jobVariable('gateway_circuit_breaker_state', 'Gateway')],
  sections: [
    {
      row: 'Rate, errors, duration by route',
      panels: [
        timeseries({
          title: 'Requests/s by route',
          description: 'Answers per second of each route template of the gateway.',
          queries: [{ expr: `sum by (route) (rate(http_request_duration_seconds_count${sel()}${RATE}))`, legend: '{{route}}' }],
          unit: 'reqps',
        }),
        timeseries({
          title: '5xx ratio by route',
          description: 'Share of 5xx answers per route. 502/503/504 from the gateway mean an upstream failed, was cut by its timeout, or its breaker is open (below).',
          queries: [
            {
              expr: `sum by (route) (rate(http_request_duration_seconds_count${sel('status_code=~"5.."')}${RATE})) / sum by (route) (rate(http_request_duration_seconds_count${sel()}${RATE}))`,
              legend: '{{route}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 0.05, color: 'red' }],
          runbooks: ['KinoraHighErrorRatio'],
        }),
        timeseries({
          title: 'p99 duration by route',
          description: '99th percentile of the request duration per route (uploads and media follow the body size).',
          queries: [{ expr: `histogram_quantile(0.99, sum by (route, le) (rate(http_request_duration_seconds_bucket${sel()}${RATE})))`, legend: '{{route}}' }],
          unit: 's',
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
          runbooks: ['KinoraApiLatencyHigh', 'KinoraMediaLatencyHigh'],
        }),
        timeseries({
          title: 'Answers by status',
          description: 'Answers per second by status code, all routes.',
          queries: [{ expr: `sum by (status_code) (rate(http_request_duration_seconds_count${sel()}${RATE}))`, legend: '{{status_code}}' }],
          unit: 'reqps',
          span: 12,
          stack: true,
        }),
        timeseries({
          title: 'Duration percentiles',
          description: 'p50, p90 and p99 of the gateway\'s request duration, all routes but uploads.',
          queries: ['0.5', '0.9', '0.99'].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket${sel('route!~"/api/v1/uploads.*"')}${RATE})))`,
            legend: `p${Number(q) * 100}`,
          })),
          unit: 's',
          span: 12,
          min: 0,
        }),
      ],
    },
    {
      row: 'Rate limits',
      panels: [
        stat({
          title: 'Rejected (429) now',
          description: 'Requests per second answered 429 by the rate limiter, all tiers.',
          queries: [{ expr: `sum(rate(gateway_rate_limited_total${sel()}${RATE})) or vector(0)` }],
          unit: 'reqps',
          span: 6,
          height: 8,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'yellow' }, { value: 50, color: 'red' }],
        }),
        timeseries({
          title: 'Rate-limit rejections by tier',
          description: 'Requests per second answered 429 per budget tier (general, auth, upload). A rise for one client is its budget; for everyone, check the budgets (RATE_LIMIT_*) against the traffic.',
          queries: [{ expr: `sum by (tier) (rate(gateway_rate_limited_total${sel()}${RATE}))`, legend: '{{tier}}' }],
          unit: 'reqps',
          span: 9,
          stack: true,
        }),
        timeseries({
          title: 'Rate-limit store errors',
          description: 'Rate-limit checks that could not reach Redis, by what happened to the request: served (fail-open) or rejected (fail-closed). Any value means Redis is slow or down.',
          queries: [{ expr: `sum by (outcome) (rate(gateway_rate_limit_store_errors_total${sel()}${RATE}))`, legend: '{{outcome}}' }],
          unit: 'ops',
          span: 9,
          thresholds: [{ value: null, color: 'green' }, { value: 0.01, color: 'red' }],
        }),
      ],
    },
    {
      row: 'Upstreams',
      panels: [
        stateTimeline({
          title: 'Circuit breaker state',
          description: 'Breaker of each upstream, worst gateway replica: closed (calls pass), open (calls fail fast with 503 or are served stale), half-open (a trial call decides).',
          queries: [{ expr: `max by (upstream) (gateway_circuit_breaker_state${sel()})`, legend: '{{upstream}}' }],
          unit: 'none',
          span: 24,
          mappings: [
            { value: 0, text: 'closed', color: 'green' },
            { value: 1, text: 'open', color: 'red' },
            { value: 2, text: 'half-open', color: 'yellow' },
          ],
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
          runbooks: ['KinoraCircuitBreakerOpen'],
        }),
        timeseries({
          title: 'Upstream failures',
          description: 'Failed calls to upstreams per second, by upstream and reason (timeout, unreachable, error, bulkhead_full, circuit_open). These feed the breakers.',
          queries: [{ expr: `sum by (upstream, reason) (rate(gateway_upstream_failures_total${sel()}${RATE}))`, legend: '{{upstream}} {{reason}}' }],
          unit: 'ops',
          span: 12,
          runbooks: ['KinoraCircuitBreakerOpen'],
        }),
        timeseries({
          title: 'Stale answers',
          description: 'Reads answered from the stale-if-error cache per second because their upstream failed: users see old data instead of an error.',
          queries: [{ expr: `sum by (upstream) (rate(gateway_stale_responses_total${sel()}${RATE}))`, legend: '{{upstream}}' }],
          unit: 'ops',
          span: 12,
        }),
      ],
    },
  ],
};
