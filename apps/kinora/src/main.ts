// Configuration and tracing first: the OpenTelemetry SDK must hook `http` and `pg` before anything loads them,
// so the rest of the process is imported only afterwards.
import { loadConfigOrExit } from '@kinora/config';
import { startTracing } from '@kinora/observability/tracing';

const started = Date.now();
const config = loadConfigOrExit();
const stopTracing = startTracing({ endpoint: config.otelEndpoint, serviceName: 'kinora' });
const { run } = await import('./run.js');
await run(config, { started, stopTracing });
