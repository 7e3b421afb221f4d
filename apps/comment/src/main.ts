// The comment service as its own process (configuration, tracing, database, serve, drain on SIGTERM).
import { runService } from '@kinora/service/run';

await runService('comment', async () => (await import('./app.js')).buildApp);
