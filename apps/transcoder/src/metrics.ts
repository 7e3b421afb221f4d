import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { FailureClass } from './services/failure.classifier.js';
import { JOB_STATES, type JobState } from './repositories/job.repository.js';

export type JobOutcome = 'succeeded' | 'failed' | 'retried' | 'released';
export type Stage = 'download' | 'probe' | 'encode' | 'upload';

/**
 * The transcoder's metrics, on the process registry (`app.metrics`). Registered once per registry: a second module
 * on the same registry reuses them.
 */
export class TranscoderMetrics {
  readonly jobDuration: Histogram<'outcome'>;
  readonly stageDuration: Histogram<'stage'>;
  readonly speed: Histogram;
  readonly failures: Counter<'class' | 'final'>;
  readonly running: Gauge;
  readonly jobs: Gauge<'state'>;

  constructor(
    registry: Registry = new Registry(),
    countJobs: () => Promise<Record<JobState, number>>,
    onCountError: (err: unknown) => void,
  ) {
    this.jobDuration = reuse(registry, 'transcode_job_duration_seconds', (name) =>
      new Histogram({
        name,
        help: 'Wall time of a transcode attempt (download, probe, encode, upload), by outcome',
        labelNames: ['outcome'] as const,
        buckets: [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600, 7200],
        registers: [registry],
      }),
    );
    this.stageDuration = reuse(registry, 'transcode_stage_duration_seconds', (name) =>
      new Histogram({
        name,
        help: 'Wall time of each stage of a transcode attempt',
        labelNames: ['stage'] as const,
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1200, 3600],
        registers: [registry],
      }),
    );
    this.speed = reuse(registry, 'transcode_speed_ratio', (name) =>
      new Histogram({
        name,
        help: 'Seconds of video encoded (the whole ladder) per second of wall time: the speed as a multiple of realtime',
        buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20],
        registers: [registry],
      }),
    );
    this.failures = reuse(registry, 'transcode_failures_total', (name) =>
      new Counter({
        name,
        help: 'Failed transcode attempts by failure class; final="true" when the job failed for good, "false" when it is retried',
        labelNames: ['class', 'final'] as const,
        registers: [registry],
      }),
    );
    this.running = reuse(
      registry,
      'transcode_jobs_running_local',
      (name) => new Gauge({ name, help: 'Transcode jobs this process runs now', registers: [registry] }),
    );
    this.jobs = reuse(registry, 'transcode_jobs', (name) =>
      new Gauge({
        name,
        help: 'Transcode jobs by state (the whole job table, read at scrape time: every worker reports the same numbers)',
        labelNames: ['state'] as const,
        registers: [registry],
        async collect() {
          try {
            const counts = await countJobs();
            for (const state of JOB_STATES) this.set({ state }, counts[state]);
          } catch (err) {
            onCountError(err);
          }
        },
      }),
    );
  }

  failure(cls: FailureClass, final: boolean): void {
    this.failures.inc({ class: cls, final: String(final) });
  }
}

function reuse<T extends Metric>(registry: Registry, name: string, make: (name: string) => T): T {
  // Already registered on this registry by another module instance: share it.
  return (registry.getSingleMetric(name) as T | undefined) ?? make(name);
}
