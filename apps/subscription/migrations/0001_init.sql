-- Subscriptions schema (owned by the subscription service). The outbox (libs/events) and the video projection
-- (libs/projections) are created in this schema by their own migration files.

-- Who follows which channel. The channel's owner, handle and name are a snapshot taken (and refreshed) when the
-- user subscribes: channels are not evented yet, and the feed reads them with the videos in one query.
CREATE TABLE subscriptions (
  user_id          uuid NOT NULL,
  channel_id       uuid NOT NULL,
  channel_owner_id uuid NOT NULL,
  channel_handle   text NOT NULL,
  channel_name     text NOT NULL,
  created_at       timestamptz NOT NULL,
  PRIMARY KEY (user_id, channel_id)
);
-- The user's subscriptions, newest first (GET /users/me/subscriptions).
CREATE INDEX subscriptions_user_recent_idx ON subscriptions (user_id, created_at DESC, channel_id DESC);
-- A channel's subscribers (new-video notifications).
CREATE INDEX subscriptions_channel_idx ON subscriptions (channel_id, created_at);

-- Videos whose publication was announced: a video is announced once, the first time it is seen ready and public.
CREATE TABLE announced_videos (
  video_id     uuid PRIMARY KEY,
  channel_id   uuid NOT NULL,
  announced_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
  id         uuid PRIMARY KEY,                -- UUIDv7
  user_id    uuid NOT NULL,
  kind       text NOT NULL,                   -- video.published | comment.reply
  payload    jsonb NOT NULL,
  -- What it is about (`video.published:<videoId>`, `comment.reply:<commentId>`): redelivered events add nothing.
  dedupe_key text NOT NULL,
  created_at timestamptz NOT NULL,
  read_at    timestamptz,
  UNIQUE (user_id, dedupe_key)
);
CREATE INDEX notifications_user_recent_idx ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
