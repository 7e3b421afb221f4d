// The realtime service as its own process: one instance, or (REALTIME_WORKERS > 1) a primary on the port that hands
// connections to worker processes, each of them this same entry without a listening socket.
import { loadConfigOrExit } from '@kinora/config';
import { createLogger } from '@kinora/observability';
import { runService } from '@kinora/service/run';
import type { RealtimeModule } from './app.js';
import { isRealtimeWorker, joinPrimary, runPrimary } from './cluster.js';

const config = loadConfigOrExit();
if (config.realtimeWorkers > 1 && !isRealtimeWorker()) {
  const logger = createLogger({ level: config.logLevel, name: 'realtime' });
  await runPrimary({ workers: config.realtimeWorkers, port: config.port, host: config.host, shutdownGraceMs: config.shutdownGraceMs, logger });
} else {
  const worker = isRealtimeWorker();
  // Counters come from analytics (ANALYTICS_SERVICE_URL) and its `analytics.counters` events.
  await runService('realtime', async () => (await import('./app.js')).buildApp, {
    listen: !worker,
    afterServe: (app) => {
      const realtime = (app as typeof app & { realtime: RealtimeModule }).realtime;
      const rt = realtime.server();
      if (worker && rt) joinPrimary(rt.io, app.metrics);
      return { instance: realtime.settings.instanceId, worker };
    },
  });
}
