-- A service's read model of videos, kept from `VideoChanged.v1` on `video.lifecycle` (libs/projections
-- `VideoProjection`). Created in the service's own schema (`runMigrations` sets the search_path to it).
CREATE TABLE video_projection (
  video_id      uuid PRIMARY KEY,
  -- The newest applied `version`: older or repeated events change nothing.
  version       bigint NOT NULL,
  channel_id    uuid NOT NULL,
  owner_id      uuid NOT NULL,
  title         text NOT NULL,
  tags          text[] NOT NULL DEFAULT '{}',
  visibility    text NOT NULL,
  state         text NOT NULL,
  deleted       boolean NOT NULL,
  -- From the event; when a ready public video comes without one, the time it was first seen so.
  published_at  timestamptz,
  duration_sec  double precision,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX video_projection_channel_idx ON video_projection (channel_id);
-- The newest ready public videos of a channel (subscriptions feed): an index range scan per channel.
CREATE INDEX video_projection_channel_feed_idx ON video_projection (channel_id, published_at DESC, video_id DESC)
  WHERE state = 'ready' AND visibility = 'public' AND NOT deleted;
