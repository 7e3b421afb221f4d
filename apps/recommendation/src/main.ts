// The recommendation service as its own process (configuration, tracing, database, serve, drain on SIGTERM).
import { runService } from '@kinora/service/run';

await runService('recommendation', async () => (await import('./app.js')).buildApp);
