-- Comments schema (owned by the comment service). The outbox (libs/events) and the video projection
-- (libs/projections) are created in this schema by their own migration files.

-- Threads are an adjacency list with counters kept in the same transaction as every change: a page of top-level
-- comments, a page of replies and every reply count are index range scans, never a recursive query.
CREATE TABLE comments (
  id                  uuid PRIMARY KEY,               -- UUIDv7: its order is creation order
  video_id            uuid NOT NULL,
  -- No cascade: a comment with replies is never removed (it becomes a tombstone), so this only guards mistakes.
  parent_id           uuid REFERENCES comments (id),
  root_id             uuid NOT NULL,                  -- the thread's top-level comment (itself when top-level)
  depth               integer NOT NULL CHECK (depth >= 0),
  -- Author snapshot taken at creation (the token's username, the display name of that moment); null once deleted.
  author_id           uuid,
  author_username     text,
  author_display_name text,
  text                text NOT NULL,
  like_count          integer NOT NULL DEFAULT 0 CHECK (like_count >= 0),
  -- Direct replies still present (tombstones included).
  reply_count         integer NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
  -- `top` order: log10(1 + likes) + created_at (epoch seconds) / 45000. It depends on the likes and the creation
  -- time only (not on the time of the query), so it can be indexed: 9 more likes outweigh 12.5 hours of age.
  hot_score           double precision NOT NULL,
  created_at          timestamptz NOT NULL,
  edited_at           timestamptz,
  deleted             boolean NOT NULL DEFAULT false
);
CREATE INDEX comments_top_level_new_idx ON comments (video_id, id DESC) WHERE parent_id IS NULL;
CREATE INDEX comments_top_level_top_idx ON comments (video_id, hot_score DESC, id DESC) WHERE parent_id IS NULL;
CREATE INDEX comments_replies_idx ON comments (parent_id, id) WHERE parent_id IS NOT NULL;

-- One like per user and comment.
CREATE TABLE comment_likes (
  comment_id uuid NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (comment_id, user_id)
);
