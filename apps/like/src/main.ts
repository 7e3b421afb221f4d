// The like service as its own process (configuration, tracing, database, serve, drain on SIGTERM).
import { runService } from '@kinora/service/run';

await runService('like', async () => (await import('./app.js')).buildApp);
