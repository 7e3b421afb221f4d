// The analytics service as its own process (configuration, tracing, database, serve, drain on SIGTERM). The event
// bus is Kafka when KAFKA_BROKERS is set (every platform topic and its dead-letter twin ensured at start), else the
// in-process bus over this database.
import { runService } from '@kinora/service/run';

await runService('analytics', async () => (await import('./app.js')).buildApp);
