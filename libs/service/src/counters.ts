import type { FastifyInstance } from 'fastify';
import type { Config } from '@kinora/config';
import type { EventBus } from '@kinora/events';
import type { Logger } from '@kinora/observability';
import { CountersView, countersViewGroup, httpCountersLoader, type CountersLoader } from '@kinora/projections';

const NO_COUNTERS: CountersLoader = { videos: async () => [], channels: async () => [] };

/**
 * The counters of analytics as a service reads them: a {@link CountersView} fed by the `analytics.counters` events
 * of `bus`, loading what it lacks from `loader` (in-process, when analytics runs in this process) or else from the
 * analytics service at `ANALYTICS_SERVICE_URL` behind a breaker. Without either, every count reads as zero (said once
 * in the log). The view joins the feed when `app` is ready and leaves it when `app` closes.
 */
export function createCountersView(
  app: FastifyInstance,
  opts: { config: Pick<Config, 'upstreams'>; bus: EventBus; logger: Logger; service: string; loader?: CountersLoader },
): CountersView {
  let loader = opts.loader;
  if (!loader) {
    const url = opts.config.upstreams.analytics;
    if (url) {
      const http = httpCountersLoader(url, {
        onBreakerChange: (t) => opts.logger.warn({ upstream: t.upstream, from: t.from, to: t.to, reason: t.reason }, `analytics breaker ${t.to}`),
      });
      app.addHook('onClose', async () => http.policy.dispose());
      loader = http;
    } else {
      opts.logger.warn({}, 'ANALYTICS_SERVICE_URL is not set and analytics does not run in this process: every count reads as zero');
      loader = NO_COUNTERS;
    }
  }
  const view = new CountersView({ loader, bus: opts.bus, group: countersViewGroup(opts.service), logger: opts.logger });
  app.addHook('onReady', async () => view.start());
  app.addHook('onClose', async () => view.close());
  return view;
}
