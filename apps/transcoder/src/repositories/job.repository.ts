import type pg from 'pg';
import type { Database } from '@kinora/db';
import type { TranscodeSucceededV1 } from '@kinora/contracts';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed'];

export interface NewJob {
  videoId: string;
  sourceKey: string;
  outputPrefix: string;
  sizeBytes: number;
  /** Id of the VideoUploaded event. */
  eventId: string;
}

export interface EnqueueResult {
  /** New jobs. */
  inserted: string[];
  /** Existing jobs reset to `queued` because a different source was uploaded. */
  requeued: string[];
  /** Redeliveries and repeats of an upload that already has its job. */
  duplicates: string[];
}

/** A job this worker holds a lease on. */
export interface ClaimedJob {
  videoId: string;
  sourceKey: string;
  outputPrefix: string;
  sizeBytes: number;
  eventId: string;
  /** Including this one. */
  attempts: number;
  leaseToken: string;
  /** `running` when the job was taken over from a worker whose lease expired. */
  previousState: JobState;
  previousOwner: string | null;
}

export interface JobRow {
  videoId: string;
  sourceKey: string;
  outputPrefix: string;
  sizeBytes: number;
  eventId: string;
  state: JobState;
  attempts: number;
  progress: number;
  runAfter: Date;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  lastError: string | null;
  failureClass: string | null;
  failureReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  downloadMs: number | null;
  probeMs: number | null;
  encodeMs: number | null;
  uploadMs: number | null;
  durationSec: number | null;
  speed: number | null;
  result: TranscodeSucceededV1 | null;
}

export interface StageTimings {
  downloadMs?: number;
  probeMs?: number;
  encodeMs?: number;
  uploadMs?: number;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

const RELEASE_LEASE = 'lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL';

/**
 * All SQL of the transcoder (schema `transcoder`). Every write to a running job is fenced by its lease token: a
 * worker whose lease was taken over changes nothing.
 */
export class JobRepository {
  constructor(private readonly database: Database) {}

  /**
   * Turns uploads into jobs, idempotently: a redelivered or repeated event for the same source changes nothing;
   * an upload of a different source for the same video starts over (state `queued`, attempts 0, and the lease of a
   * worker still busy with the old source is revoked, so its results are discarded).
   */
  async enqueue(client: Queryable, jobs: readonly NewJob[]): Promise<EnqueueResult> {
    const result: EnqueueResult = { inserted: [], requeued: [], duplicates: [] };
    for (const job of jobs) {
      const { rows } = await client.query<{ video_id: string; inserted: boolean }>(
        `INSERT INTO transcoder.jobs (video_id, source_key, output_prefix, size_bytes, event_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (video_id) DO UPDATE SET
           source_key = EXCLUDED.source_key, output_prefix = EXCLUDED.output_prefix, size_bytes = EXCLUDED.size_bytes,
           event_id = EXCLUDED.event_id, state = 'queued', attempts = 0, progress = 0, run_after = now(),
           ${RELEASE_LEASE}, last_error = NULL, failure_class = NULL, failure_reason = NULL, started_at = NULL,
           finished_at = NULL, download_ms = NULL, probe_ms = NULL, encode_ms = NULL, upload_ms = NULL,
           duration_sec = NULL, speed = NULL, result = NULL, updated_at = now()
         WHERE jobs.source_key IS DISTINCT FROM EXCLUDED.source_key
         RETURNING video_id, (xmax = 0) AS inserted`,
        [job.videoId, job.sourceKey, job.outputPrefix, job.sizeBytes, job.eventId],
      );
      const row = rows[0];
      if (!row) result.duplicates.push(job.videoId);
      else if (row.inserted) result.inserted.push(job.videoId);
      else result.requeued.push(job.videoId);
    }
    return result;
  }

  /**
   * Takes the next due job (queued and past its backoff, or running with an expired lease) with
   * `FOR UPDATE SKIP LOCKED`, so concurrent workers never take the same one, and leases it to `owner`.
   */
  async claim(owner: string, leaseMs: number): Promise<ClaimedJob | null> {
    const { rows } = await this.database.primary.query<{
      video_id: string;
      source_key: string;
      output_prefix: string;
      size_bytes: string;
      event_id: string;
      attempts: number;
      lease_token: string;
      previous_state: JobState;
      previous_owner: string | null;
    }>(
      `WITH next AS (
         SELECT video_id, state AS previous_state, lease_owner AS previous_owner
         FROM transcoder.jobs
         WHERE (state = 'queued' AND run_after <= now()) OR (state = 'running' AND lease_expires_at < now())
         ORDER BY CASE WHEN state = 'queued' THEN run_after ELSE lease_expires_at END, created_at
         LIMIT 1
         FOR UPDATE SKIP LOCKED
       )
       UPDATE transcoder.jobs j SET
         state = 'running', attempts = j.attempts + 1, progress = 0,
         lease_owner = $1, lease_token = gen_random_uuid(), lease_expires_at = now() + make_interval(secs => $2::double precision / 1000),
         started_at = COALESCE(j.started_at, now()), finished_at = NULL, updated_at = now()
       FROM next
       WHERE j.video_id = next.video_id
       RETURNING j.video_id, j.source_key, j.output_prefix, j.size_bytes, j.event_id, j.attempts, j.lease_token,
                 next.previous_state, next.previous_owner`,
      [owner, leaseMs],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      videoId: row.video_id,
      sourceKey: row.source_key,
      outputPrefix: row.output_prefix,
      sizeBytes: Number(row.size_bytes),
      eventId: row.event_id,
      attempts: row.attempts,
      leaseToken: row.lease_token,
      previousState: row.previous_state,
      previousOwner: row.previous_owner,
    };
  }

  /** Extends the lease (and records the progress). False when the lease is no longer ours. */
  async heartbeat(job: ClaimedJob, leaseMs: number, progress: number): Promise<boolean> {
    const { rowCount } = await this.database.primary.query(
      `UPDATE transcoder.jobs SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000),
         progress = GREATEST(progress, $4), updated_at = now()
       WHERE video_id = $1 AND lease_token = $2`,
      [job.videoId, job.leaseToken, leaseMs, clamp(progress)],
    );
    return rowCount === 1;
  }

  async recordProgress(job: ClaimedJob, progress: number): Promise<boolean> {
    const { rowCount } = await this.database.primary.query(
      `UPDATE transcoder.jobs SET progress = GREATEST(progress, $3), updated_at = now() WHERE video_id = $1 AND lease_token = $2`,
      [job.videoId, job.leaseToken, clamp(progress)],
    );
    return rowCount === 1;
  }

  /** Marks the job succeeded (inside the caller's transaction, which then publishes the event). */
  async succeed(
    client: Queryable,
    job: ClaimedJob,
    fields: { result: TranscodeSucceededV1; timings: StageTimings; durationSec: number; speed: number },
  ): Promise<boolean> {
    const { rowCount } = await client.query(
      `UPDATE transcoder.jobs SET state = 'succeeded', progress = 1, ${RELEASE_LEASE}, finished_at = now(), updated_at = now(),
         last_error = NULL, failure_class = NULL, failure_reason = NULL, result = $3,
         download_ms = $4, probe_ms = $5, encode_ms = $6, upload_ms = $7, duration_sec = $8, speed = $9
       WHERE video_id = $1 AND lease_token = $2`,
      [
        job.videoId,
        job.leaseToken,
        JSON.stringify(fields.result),
        ms(fields.timings.downloadMs),
        ms(fields.timings.probeMs),
        ms(fields.timings.encodeMs),
        ms(fields.timings.uploadMs),
        fields.durationSec,
        fields.speed,
      ],
    );
    return rowCount === 1;
  }

  /** Marks the job failed for good (inside the caller's transaction, which then publishes the event). */
  async fail(
    client: Queryable,
    job: ClaimedJob,
    fields: { failureClass: string; reason: string; detail: string; timings: StageTimings },
  ): Promise<boolean> {
    const { rowCount } = await client.query(
      `UPDATE transcoder.jobs SET state = 'failed', ${RELEASE_LEASE}, finished_at = now(), updated_at = now(),
         failure_class = $3, failure_reason = $4, last_error = $5,
         download_ms = COALESCE($6, download_ms), probe_ms = COALESCE($7, probe_ms), encode_ms = COALESCE($8, encode_ms),
         upload_ms = COALESCE($9, upload_ms)
       WHERE video_id = $1 AND lease_token = $2`,
      [
        job.videoId,
        job.leaseToken,
        fields.failureClass,
        fields.reason,
        fields.detail,
        ms(fields.timings.downloadMs),
        ms(fields.timings.probeMs),
        ms(fields.timings.encodeMs),
        ms(fields.timings.uploadMs),
      ],
    );
    return rowCount === 1;
  }

  /** Puts the job back in the queue for another attempt after `delayMs`. */
  async retryLater(job: ClaimedJob, delayMs: number, fields: { failureClass: string; detail: string }): Promise<boolean> {
    const { rowCount } = await this.database.primary.query(
      `UPDATE transcoder.jobs SET state = 'queued', ${RELEASE_LEASE}, progress = 0, finished_at = now(), updated_at = now(),
         run_after = now() + make_interval(secs => $3::double precision / 1000), failure_class = $4, last_error = $5
       WHERE video_id = $1 AND lease_token = $2`,
      [job.videoId, job.leaseToken, delayMs, fields.failureClass, fields.detail],
    );
    return rowCount === 1;
  }

  /** Gives a job back at shutdown: queued again at once, and the interrupted attempt does not count. */
  async release(job: ClaimedJob): Promise<boolean> {
    const { rowCount } = await this.database.primary.query(
      `UPDATE transcoder.jobs SET state = 'queued', ${RELEASE_LEASE}, progress = 0, run_after = now(),
         attempts = GREATEST(attempts - 1, 0), updated_at = now()
       WHERE video_id = $1 AND lease_token = $2`,
      [job.videoId, job.leaseToken],
    );
    return rowCount === 1;
  }

  async get(videoId: string): Promise<JobRow | null> {
    const { rows } = await this.database.primary.query(`SELECT * FROM transcoder.jobs WHERE video_id = $1`, [videoId]);
    const r = rows[0] as Record<string, unknown> | undefined;
    if (!r) return null;
    return {
      videoId: r.video_id as string,
      sourceKey: r.source_key as string,
      outputPrefix: r.output_prefix as string,
      sizeBytes: Number(r.size_bytes),
      eventId: r.event_id as string,
      state: r.state as JobState,
      attempts: r.attempts as number,
      progress: r.progress as number,
      runAfter: r.run_after as Date,
      leaseOwner: r.lease_owner as string | null,
      leaseExpiresAt: r.lease_expires_at as Date | null,
      lastError: r.last_error as string | null,
      failureClass: r.failure_class as string | null,
      failureReason: r.failure_reason as string | null,
      createdAt: r.created_at as Date,
      updatedAt: r.updated_at as Date,
      startedAt: r.started_at as Date | null,
      finishedAt: r.finished_at as Date | null,
      downloadMs: r.download_ms as number | null,
      probeMs: r.probe_ms as number | null,
      encodeMs: r.encode_ms as number | null,
      uploadMs: r.upload_ms as number | null,
      durationSec: r.duration_sec as number | null,
      speed: r.speed as number | null,
      result: r.result as TranscodeSucceededV1 | null,
    };
  }

  /** Jobs per state (every state present, 0 when none). */
  async countByState(): Promise<Record<JobState, number>> {
    const { rows } = await this.database.primary.query<{ state: JobState; n: string }>(
      `SELECT state, count(*) AS n FROM transcoder.jobs GROUP BY state`,
    );
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const r of rows) counts[r.state] = Number(r.n);
    return counts;
  }
}

function clamp(progress: number): number {
  return Math.min(1, Math.max(0, Number.isFinite(progress) ? progress : 0));
}

function ms(value: number | undefined): number | null {
  return value === undefined ? null : Math.round(value);
}
