import { Registry, collectDefaultMetrics, Histogram } from 'prom-client';

/** One registry per process (or per test app), with Node's default metrics. */
export function createMetricsRegistry(opts: { prefix?: string; defaultLabels?: Record<string, string>; defaults?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry, prefix: opts.prefix ?? '' });
  return registry;
}

export function createRequestDurationHistogram(registry: Registry): Histogram<'method' | 'route' | 'status_code'> {
  return new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}
