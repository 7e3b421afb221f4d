// The user service as its own process (configuration, tracing, database, serve, drain on SIGTERM).
import { runService } from '@kinora/service/run';

await runService('user', async () => (await import('./app.js')).buildApp);
