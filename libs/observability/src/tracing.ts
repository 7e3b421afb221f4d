import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';

/**
 * Starts the OpenTelemetry SDK when an OTLP endpoint is configured (traces over OTLP/HTTP; W3C traceparent in and
 * out through the HTTP instrumentation). Returns a shutdown function; a no-op when tracing is off.
 */
export function startTracing(opts: { endpoint: string | undefined; serviceName: string }): () => Promise<void> {
  if (!opts.endpoint) return async () => {};
  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    traceExporter: new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` }),
    instrumentations: [new HttpInstrumentation(), new PgInstrumentation()],
  });
  sdk.start();
  return () => sdk.shutdown();
}
