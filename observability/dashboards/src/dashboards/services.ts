import { RATE, jobVariable, namespaceVariable, sel, timeseries, type DashboardSpec } from '../grafana.js';

export const services: DashboardSpec = {
  name: 'services',
  title: 'Kinora / Services',
  description: 'Any Kinora service (the `job` variable): rate, errors and duration, its cache (hit ratio per layer and key class, loads, invalidations) and its Node.js runtime per pod (event loop, memory, GC, CPU, handles).',
  variables: [namespaceVariable, jobVariable('http_request_duration_seconds_count')],
  sections: [
    {
      row: 'Rate, errors, duration',
      panels: [
        timeseries({
          title: 'Requests/s',
          description: 'HTTP answers per second of each chosen service.',
          queries: [{ expr: `sum by (job) (rate(http_request_duration_seconds_count${sel()}${RATE}))`, legend: '{{job}}' }],
          unit: 'reqps',
        }),
        timeseries({
          title: '5xx ratio',
          description: 'Share of 5xx answers of each chosen service; dashed: the 5% of KinoraHighErrorRatio.',
          queries: [
            {
              expr: `sum by (job) (rate(http_request_duration_seconds_count${sel('status_code=~"5.."')}${RATE})) / sum by (job) (rate(http_request_duration_seconds_count${sel()}${RATE}))`,
              legend: '{{job}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 0.05, color: 'red' }],
          runbooks: ['KinoraHighErrorRatio'],
        }),
        timeseries({
          title: 'Duration p50 / p99',
          description: 'Median and 99th percentile of the request duration of each chosen service (uploads excluded).',
          queries: ['0.5', '0.99'].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (job, le) (rate(http_request_duration_seconds_bucket${sel('route!~"/api/v1/uploads.*"')}${RATE})))`,
            legend: `{{job}} p${Number(q) * 100}`,
          })),
          unit: 's',
          min: 0,
          runbooks: ['KinoraApiLatencyHigh'],
        }),
        timeseries({
          title: 'Busiest routes',
          description: 'The ten routes with the most answers per second.',
          queries: [{ expr: `topk(10, sum by (job, route) (rate(http_request_duration_seconds_count${sel()}${RATE})))`, legend: '{{job}} {{route}}' }],
          unit: 'reqps',
          span: 12,
        }),
        timeseries({
          title: 'Slowest routes (p99)',
          description: 'The ten routes with the highest 99th percentile duration.',
          queries: [{ expr: `topk(10, histogram_quantile(0.99, sum by (job, route, le) (rate(http_request_duration_seconds_bucket${sel()}${RATE}))))`, legend: '{{job}} {{route}}' }],
          unit: 's',
          span: 12,
          min: 0,
        }),
      ],
    },
    {
      row: 'Cache',
      panels: [
        timeseries({
          title: 'Hit ratio by key class',
          description: 'Share of cache lookups answered by a cache layer (process memory or Redis, fresh or stale) rather than a load from the database, per key class. The read-path goal is 99%.',
          queries: [
            {
              expr: `1 - sum by (class) (rate(kinora_cache_loads_total${sel()}${RATE})) / sum by (class) (rate(kinora_cache_requests_total${sel('layer="memory"')}${RATE}))`,
              legend: '{{class}}',
            },
          ],
          unit: 'percentunit',
          min: 0,
          max: 1,
        }),
        timeseries({
          title: 'Lookups/s by layer and result',
          description: 'Cache lookups per second: memory hits, misses that went on to Redis, Redis hits and misses (then a load), and stale values served while one refresh runs.',
          queries: [{ expr: `sum by (layer, result) (rate(kinora_cache_requests_total${sel()}${RATE}))`, legend: '{{layer}} {{result}}' }],
          unit: 'ops',
        }),
        timeseries({
          title: 'Loads/s and Redis errors/s',
          description: 'Loads from the database after misses, by result (ok, not_found: remembered briefly, error), and Redis operations that failed (the requests were answered without the Redis layer).',
          queries: [
            { expr: `sum by (class, result) (rate(kinora_cache_loads_total${sel()}${RATE}))`, legend: 'load {{class}} {{result}}' },
            { expr: `sum by (op) (rate(kinora_cache_redis_errors_total${sel()}${RATE}))`, legend: 'redis error {{op}}' },
          ],
          unit: 'ops',
        }),
        timeseries({
          title: 'Invalidations/s',
          description: 'Keys evicted per second by a change: local (this pod made the change) or remote (heard over Redis pub/sub from another pod).',
          queries: [{ expr: `sum by (class, source) (rate(kinora_cache_invalidations_total${sel()}${RATE}))`, legend: '{{class}} {{source}}' }],
          unit: 'ops',
        }),
        timeseries({
          title: 'In-process cache size',
          description: 'Entries and approximate bytes held by the in-process layer of each pod (bounded by CACHE_MAX_ENTRIES and CACHE_MAX_MB).',
          queries: [
            { expr: `sum by (instance) (kinora_cache_memory_bytes${sel()})`, legend: '{{instance}} bytes' },
          ],
          unit: 'bytes',
          min: 0,
        }),
      ],
    },
    {
      row: 'Node.js runtime per pod',
      panels: [
        timeseries({
          title: 'Event loop lag',
          description: 'p99 and mean event-loop delay per pod: time a ready callback waits. Above ~100 ms requests of that pod queue behind CPU work (a hot loop, big JSON, sync crypto).',
          queries: [
            { expr: `max by (instance) (nodejs_eventloop_lag_p99_seconds${sel()})`, legend: '{{instance}} p99' },
            { expr: `max by (instance) (nodejs_eventloop_lag_mean_seconds${sel()})`, legend: '{{instance}} mean' },
          ],
          unit: 's',
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 0.1, color: 'yellow' }, { value: 0.5, color: 'red' }],
        }),
        timeseries({
          title: 'Memory',
          description: 'Resident memory (RSS) and V8 heap used per pod. RSS growing while the heap stays flat points at buffers or native memory; both growing, at a leak in JS.',
          queries: [
            { expr: `sum by (instance) (process_resident_memory_bytes${sel()})`, legend: '{{instance}} rss' },
            { expr: `sum by (instance) (nodejs_heap_size_used_bytes${sel()})`, legend: '{{instance}} heap used' },
          ],
          unit: 'bytes',
          min: 0,
        }),
        timeseries({
          title: 'GC time',
          description: 'Share of wall time spent in garbage collection per pod, by kind (minor, major, incremental, weakcb). Over a few percent: allocation pressure or a heap near its limit.',
          queries: [{ expr: `sum by (instance, kind) (rate(nodejs_gc_duration_seconds_sum${sel()}${RATE}))`, legend: '{{instance}} {{kind}}' }],
          unit: 'percentunit',
          min: 0,
          stack: true,
        }),
        timeseries({
          title: 'CPU',
          description: 'CPU seconds per second (cores) used per pod. One Node.js process uses about one core for JavaScript: near 1 it is saturated.',
          queries: [{ expr: `sum by (instance) (rate(process_cpu_seconds_total${sel()}${RATE}))`, legend: '{{instance}}' }],
          unit: 'short',
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 0.8, color: 'yellow' }, { value: 1, color: 'red' }],
        }),
        timeseries({
          title: 'Open file descriptors',
          description: 'Sockets and files open per pod, against the process limit.',
          queries: [
            { expr: `sum by (instance) (process_open_fds${sel()})`, legend: '{{instance}} open' },
            { expr: `max by (instance) (process_max_fds${sel()})`, legend: '{{instance}} max' },
          ],
          unit: 'short',
          min: 0,
        }),
        timeseries({
          title: 'Active handles',
          description: 'libuv handles (sockets, timers, servers) per pod: a steady climb is a leak of connections or timers.',
          queries: [{ expr: `sum by (instance) (nodejs_active_handles_total${sel()})`, legend: '{{instance}}' }],
          unit: 'short',
          min: 0,
        }),
      ],
    },
  ],
};
