-- Analytics: sharded counters, the consumers' own offsets (committed with the counters, for exactly-once counts),
-- and hourly per-video facts range-partitioned by day. Runs with search_path = analytics.

-- 100 shards per entity: a flush adds its deltas to one shard chosen at random, so no single row is hot and
-- concurrent flushes (several consumers, the video projection) rarely wait on each other. A read sums the shards.
CREATE TABLE video_counters (
  video_id uuid     NOT NULL,
  shard    smallint NOT NULL CHECK (shard BETWEEN 0 AND 99),
  views    bigint   NOT NULL DEFAULT 0,
  likes    bigint   NOT NULL DEFAULT 0,
  dislikes bigint   NOT NULL DEFAULT 0,
  comments bigint   NOT NULL DEFAULT 0,
  PRIMARY KEY (video_id, shard)
);

CREATE TABLE channel_counters (
  channel_id  uuid     NOT NULL,
  shard       smallint NOT NULL CHECK (shard BETWEEN 0 AND 99),
  subscribers bigint   NOT NULL DEFAULT 0,
  videos      bigint   NOT NULL DEFAULT 0,
  PRIMARY KEY (channel_id, shard)
);

-- Where each consumer group stands (the next offset to count), written in the same transaction as the counters.
-- `epoch` is bumped by every member that takes the partition (OffsetStore.load); a flush only succeeds while the
-- epoch is still the one its member claimed, so a member that lost the partition can never add its deltas late.
-- next_offset is NULL until the first flush.
CREATE TABLE consumer_offsets (
  group_id    text    NOT NULL,
  topic       text    NOT NULL,
  partition   integer NOT NULL CHECK (partition >= 0),
  next_offset bigint  CHECK (next_offset >= 0),
  epoch       bigint  NOT NULL DEFAULT 1,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- Hourly facts per video; one partition per UTC day (video_hourly_pYYYYMMDD), created ahead and dropped after the
-- retention period by the maintenance task. likes/comments are net (added minus removed) within the hour.
CREATE TABLE video_hourly (
  video_id uuid        NOT NULL,
  hour     timestamptz NOT NULL,
  views    bigint      NOT NULL DEFAULT 0,
  likes    bigint      NOT NULL DEFAULT 0,
  comments bigint      NOT NULL DEFAULT 0,
  PRIMARY KEY (video_id, hour)
) PARTITION BY RANGE (hour);
