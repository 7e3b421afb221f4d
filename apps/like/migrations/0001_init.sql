-- Ratings schema (owned by the like service). The outbox (libs/events) and the video projection
-- (libs/projections) are created in this schema by their own migration files.

-- One row per user and video: the user's current rating. `none` rows stay (a user who took a rating back).
CREATE TABLE video_ratings (
  video_id   uuid NOT NULL,
  user_id    uuid NOT NULL,
  value      text NOT NULL CHECK (value IN ('like', 'dislike', 'none')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (video_id, user_id)
);
