-- Shards per entity follow COUNTER_SHARDS (1-10000, default 100) instead of a fixed 100. A read sums every shard of
-- an entity, so rows written under another count stay counted: the count may change on an existing database.
ALTER TABLE video_counters DROP CONSTRAINT video_counters_shard_check,
  ADD CONSTRAINT video_counters_shard_check CHECK (shard BETWEEN 0 AND 9999);
ALTER TABLE channel_counters DROP CONSTRAINT channel_counters_shard_check,
  ADD CONSTRAINT channel_counters_shard_check CHECK (shard BETWEEN 0 AND 9999);
