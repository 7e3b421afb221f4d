// The gateway as its own process (configuration, tracing, serve, drain on SIGTERM). It owns no database.
import { runService } from '@kinora/service/run';

await runService('gateway', async () => (await import('./app.js')).buildGateway, {
  database: false,
  readyFields: (config) => ({ upstreams: config.upstreams, redis: config.redis !== undefined }),
});
