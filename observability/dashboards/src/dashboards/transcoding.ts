import { RATE, jobVariable, namespaceVariable, sel, stat, timeseries, type DashboardSpec } from '../grafana.js';

const QUANTILES = ['0.5', '0.9'];

export const transcoding: DashboardSpec = {
  name: 'transcoding',
  title: 'Kinora / Transcoding',
  description: 'The transcode queue (jobs by state), running jobs per worker, job and stage durations, encoding speed against realtime, and failures by class.',
  variables: [namespaceVariable, jobVariable('transcode_jobs', 'Transcoder')],
  sections: [
    {
      row: 'Queue',
      panels: [
        stat({
          title: 'Queued',
          description: 'Jobs waiting for a worker. Growing while workers are busy: add transcoders (HPA) or check their speed below.',
          queries: [{ expr: `max(transcode_jobs${sel('state="queued"')})` }],
          unit: 'short',
          span: 6,
          thresholds: [{ value: null, color: 'green' }, { value: 50, color: 'yellow' }, { value: 500, color: 'red' }],
        }),
        stat({
          title: 'Running',
          description: 'Jobs encoding now, all workers (each reports the jobs its process runs).',
          queries: [{ expr: `sum(transcode_jobs_running_local${sel()})` }],
          unit: 'short',
          span: 6,
        }),
        stat({
          title: 'Failed (table)',
          description: 'Jobs in state failed in the job table: uploads that will not play unless retried.',
          queries: [{ expr: `max(transcode_jobs${sel('state="failed"')})` }],
          unit: 'short',
          span: 6,
          thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'yellow' }],
          runbooks: ['KinoraTranscodeFailures'],
        }),
        stat({
          title: 'Speed (median)',
          description: 'Median encoding speed: seconds of video encoded (the whole ladder) per second of wall time. Below 1× the queue grows whenever uploads arrive in real time.',
          queries: [{ expr: `histogram_quantile(0.5, sum by (le) (rate(transcode_speed_ratio_bucket${sel()}[$__range])))` }],
          unit: 'suffix:×',
          span: 6,
          decimals: 2,
          thresholds: [{ value: null, color: 'red' }, { value: 0.75, color: 'yellow' }, { value: 1, color: 'green' }],
        }),
        timeseries({
          title: 'Jobs by state',
          description: 'The job table by state (every worker reports the same numbers; the max is taken).',
          queries: [{ expr: `max by (state) (transcode_jobs${sel('state=~"queued|running"')})`, legend: '{{state}}' }],
          unit: 'short',
          span: 12,
          min: 0,
        }),
        timeseries({
          title: 'Running per worker',
          description: 'Jobs running in each transcoder pod, against its concurrency (TRANSCODE_CONCURRENCY).',
          queries: [{ expr: `sum by (instance) (transcode_jobs_running_local${sel()})`, legend: '{{instance}}' }],
          unit: 'short',
          span: 12,
          min: 0,
          stack: true,
        }),
      ],
    },
    {
      row: 'Duration and speed',
      panels: [
        timeseries({
          title: 'Attempts by outcome',
          description: 'Transcode attempts finished per minute, by outcome (succeeded, failed, retried, released at shutdown).',
          queries: [{ expr: `60 * sum by (outcome) (rate(transcode_job_duration_seconds_count${sel()}${RATE}))`, legend: '{{outcome}}' }],
          unit: 'cpm',
          stack: true,
        }),
        timeseries({
          title: 'Job duration',
          description: 'Wall time of an attempt (download, probe, encode, upload), median and p90, by outcome.',
          queries: QUANTILES.map((q) => ({
            expr: `histogram_quantile(${q}, sum by (outcome, le) (rate(transcode_job_duration_seconds_bucket${sel()}${RATE})))`,
            legend: `{{outcome}} p${Number(q) * 100}`,
          })),
          unit: 's',
          min: 0,
        }),
        timeseries({
          title: 'Stage duration (p90)',
          description: '90th percentile wall time of each stage. A slow download or upload is object storage; a slow encode is CPU or the source.',
          queries: [{ expr: `histogram_quantile(0.9, sum by (stage, le) (rate(transcode_stage_duration_seconds_bucket${sel()}${RATE})))`, legend: '{{stage}}' }],
          unit: 's',
          min: 0,
        }),
        timeseries({
          title: 'Encoding speed',
          description: 'Seconds of video per second of wall time, p10, median and p90. Dashed: realtime (1×).',
          queries: ['0.1', '0.5', '0.9'].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(transcode_speed_ratio_bucket${sel()}${RATE})))`,
            legend: `p${Number(q) * 100}`,
          })),
          unit: 'suffix:×',
          span: 12,
          min: 0,
          thresholds: [{ value: null, color: 'red' }, { value: 1, color: 'green' }],
        }),
        timeseries({
          title: 'Failures by class',
          description: 'Failed attempts per hour by failure class; final="true" failed for good, "false" will be retried. KinoraTranscodeFailures fires at 3 final failures of a class in an hour.',
          queries: [{ expr: `3600 * sum by (class, final) (rate(transcode_failures_total${sel()}${RATE}))`, legend: '{{class}} final={{final}}' }],
          unit: 'short',
          span: 12,
          min: 0,
          thresholds: [{ value: null, color: 'green' }, { value: 3, color: 'red' }],
          runbooks: ['KinoraTranscodeFailures'],
        }),
      ],
    },
  ],
};
