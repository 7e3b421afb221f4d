// The transcoder service as its own process (configuration, tracing, database, serve, drain on SIGTERM).
import { runService } from '@kinora/service/run';

await runService('transcoder', async () => (await import('./app.js')).buildApp);
