-- Transcode jobs: one row per video (the latest upload of that video). The consumer of `video.lifecycle` inserts
-- them; workers claim them with FOR UPDATE SKIP LOCKED and hold a lease they extend while running.
CREATE TABLE jobs (
  video_id         text PRIMARY KEY,
  source_key       text NOT NULL,
  output_prefix    text NOT NULL,
  size_bytes       bigint NOT NULL,
  -- The VideoUploaded event that created (or last re-queued) the job.
  event_id         text NOT NULL,
  state            text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
  -- Attempts started (a graceful shutdown gives its attempt back; a crash does not).
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  progress         real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  -- Not before this time (retry backoff).
  run_after        timestamptz NOT NULL DEFAULT now(),
  -- Lease: who runs it, until when; the token fences a worker whose lease was taken over.
  lease_owner      text,
  lease_token      uuid,
  lease_expires_at timestamptz,
  -- Technical detail of the last failure (logs, operators); failure_reason is what the owner reads.
  last_error       text,
  failure_class    text,
  failure_reason   text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- First claim of the current upload, and the end of its last attempt.
  started_at       timestamptz,
  finished_at      timestamptz,
  -- Stage timings of the last attempt that got that far (ms), the encoded duration and the encoding speed.
  download_ms      integer,
  probe_ms         integer,
  encode_ms        integer,
  upload_ms        integer,
  duration_sec     double precision,
  speed            double precision,
  -- The TranscodeSucceeded.v1 payload of a succeeded job.
  result           jsonb,
  CHECK ((state = 'running') = (lease_token IS NOT NULL))
);

-- What a worker looks for: due queued jobs, and running jobs whose lease expired (their worker died).
CREATE INDEX jobs_queued_idx ON jobs (run_after) WHERE state = 'queued';
CREATE INDEX jobs_running_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
