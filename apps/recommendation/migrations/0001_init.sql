-- Recommendation schema (owned by the recommendation service). The video projection (libs/projections) is created
-- in this schema by its own migration file.

-- Per-user engagement with a video (signed-in viewers and raters only): the co-engagement model.
-- weight = LEAST(views, 5) + (3 when liked).
CREATE TABLE engagement (
  user_id   uuid NOT NULL,
  video_id  uuid NOT NULL,
  views     integer NOT NULL DEFAULT 0,
  liked     boolean NOT NULL DEFAULT false,
  weight    double precision GENERATED ALWAYS AS (LEAST(views, 5) + CASE WHEN liked THEN 3 ELSE 0 END) STORED,
  last_at   timestamptz NOT NULL,
  PRIMARY KEY (user_id, video_id)
);
-- The audience of a video (related videos start there).
CREATE INDEX engagement_video_idx ON engagement (video_id, user_id);

-- Trending score of a video: engagement (views of anyone, likes) decayed exponentially; `score` is the value at
-- `updated_at`, the value at time t is score * 2^-((t - updated_at) / half-life).
-- Every score decays by the same factor, so the order of the scores now is the order of
-- `rank = log2(score) + epoch(updated_at) / half-life` (null when the score is 0): an index serves the popular list.
CREATE TABLE trending (
  video_id    uuid PRIMARY KEY,
  score       double precision NOT NULL,
  updated_at  timestamptz NOT NULL,
  rank        double precision
);
CREATE INDEX trending_rank_idx ON trending (rank DESC) WHERE rank IS NOT NULL;

-- Envelope ids of the engagement events already applied (delivery is at-least-once).
CREATE TABLE processed_events (
  event_id      uuid PRIMARY KEY,
  processed_at  timestamptz NOT NULL DEFAULT now()
);
