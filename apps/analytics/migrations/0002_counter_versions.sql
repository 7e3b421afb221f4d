-- A version per entity whose totals changed, bumped in the transaction that changes them. The `analytics.counters`
-- events carry it, so a reader that gets two updates of one video out of order keeps the newer. The bump takes
-- the row lock, so two concurrent flushes of one video are ordered: the later one waits, then reads totals that
-- include the earlier one's (read committed: its next statement sees the commit). One row per entity per flush,
-- not per event, so it is no hot spot.
CREATE TABLE video_counter_versions (
  video_id uuid   PRIMARY KEY,
  version  bigint NOT NULL
);

CREATE TABLE channel_counter_versions (
  channel_id uuid   PRIMARY KEY,
  version    bigint NOT NULL
);
