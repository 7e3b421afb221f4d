-- Live chat history, range-partitioned by day on created_at. Partitions (chat_messages_pYYYYMMDD) are created ahead
-- and dropped after the retention period by the service (ChatPartitions), never by hand.
-- The message id is a UUIDv7 whose timestamp is created_at, so a message is found from its id alone with the
-- primary key, in one partition.
CREATE TABLE chat_messages (
  id uuid NOT NULL,
  video_id text NOT NULL,
  author_id text NOT NULL,
  author_username text NOT NULL,
  text text NOT NULL,
  created_at timestamptz NOT NULL,
  deleted_at timestamptz,
  deleted_by text,
  PRIMARY KEY (created_at, id)
) PARTITION BY RANGE (created_at);

-- History of one video, newest first (GET /api/v1/videos/:id/chat).
CREATE INDEX chat_messages_video_idx ON chat_messages (video_id, created_at DESC, id DESC);
