-- Videos schema (owned by the video service).

CREATE TABLE videos (
  id              uuid PRIMARY KEY,
  owner_id        uuid NOT NULL,
  -- The channel as it was when the video was created (the user service owns channels).
  channel_id      uuid NOT NULL,
  channel_handle  text NOT NULL,
  channel_name    text NOT NULL,
  title           text NOT NULL,
  description     text NOT NULL DEFAULT '',
  tags            text[] NOT NULL DEFAULT '{}',
  visibility      text NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private')),
  state           text NOT NULL CHECK (state IN ('awaiting_upload', 'processing', 'ready', 'failed')),
  failure_reason  text,
  progress        real CHECK (progress BETWEEN 0 AND 1),
  duration_sec    double precision,
  width           integer,
  height          integer,
  renditions      jsonb,
  hls_key         text,
  dash_key        text,
  thumbnail_key   text,
  storyboard_vtt_key text,
  -- Increases with every change published as VideoChanged.v1.
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  -- First time the video was ready and public or unlisted.
  published_at    timestamptz,
  -- Engagement weight for `sort=trending` (0 until analytics reports); see README.
  popularity      double precision NOT NULL DEFAULT 0,
  trending_score  double precision,
  -- Tombstone: a deleted video's row stays so that late transcoder events can clean up after it.
  deleted_at      timestamptz,
  -- Title (weight A), tags (B), description (C), written by the service from text it has NFKC-normalised and
  -- lower-cased itself: the database's own lower() only folds ASCII under the C locale embedded Postgres uses.
  search          tsvector NOT NULL DEFAULT ''
);

-- What anyone may list: public, ready, not deleted.
CREATE INDEX videos_recent_idx ON videos (published_at DESC, id DESC)
  WHERE visibility = 'public' AND state = 'ready' AND deleted_at IS NULL;
CREATE INDEX videos_trending_idx ON videos (trending_score DESC, id DESC)
  WHERE visibility = 'public' AND state = 'ready' AND deleted_at IS NULL;
CREATE INDEX videos_channel_idx ON videos (channel_id, published_at DESC, id DESC)
  WHERE visibility = 'public' AND state = 'ready' AND deleted_at IS NULL;
CREATE INDEX videos_owner_idx ON videos (owner_id, created_at DESC);
CREATE INDEX videos_search_idx ON videos USING GIN (search);

-- One tus upload per video (its id is the video id). The bytes live in the object store as parts
-- `upload-parts/<videoId>/<offset>-<random>` until the upload completes, then as one object `uploads/<videoId>`.
CREATE TABLE uploads (
  video_id      uuid PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
  size          bigint NOT NULL CHECK (size >= 0),
  "offset"      bigint NOT NULL DEFAULT 0 CHECK ("offset" >= 0 AND "offset" <= size),
  metadata      jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz
);

-- The stored parts of an upload, recorded together with the offset move that counts them. A part object that is
-- not listed here (its request lost a race, or the process died before counting it) is ignored and removed later.
CREATE TABLE upload_parts (
  video_id  uuid NOT NULL REFERENCES uploads (video_id) ON DELETE CASCADE,
  "offset"  bigint NOT NULL,
  size      bigint NOT NULL CHECK (size > 0),
  key       text NOT NULL,
  PRIMARY KEY (video_id, "offset")
);
