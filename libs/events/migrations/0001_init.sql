-- The log of the in-process event bus (embedded mode): Kafka's model (topics, partitions, offsets, consumer groups)
-- on PostgreSQL, so a crash loses no event and an event can be written in the same transaction as the business row.

CREATE SCHEMA IF NOT EXISTS events;

-- id is part of the advisory-lock key of a consumer group's partition (id * 1024 + partition), hence the bound.
CREATE TABLE events.topics (
  name       text PRIMARY KEY,
  id         integer GENERATED ALWAYS AS IDENTITY UNIQUE,
  partitions integer NOT NULL CHECK (partitions BETWEEN 1 AND 1024),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per partition holding the next offset to hand out. A publisher increments it in its own transaction and
-- keeps the row lock until it commits, so the publishers of one partition are serialised: offsets are gap-free and
-- become visible in offset order. A reader that has seen offset N knows every offset below N is final.
CREATE TABLE events.partitions (
  topic       text    NOT NULL REFERENCES events.topics (name),
  partition   integer NOT NULL CHECK (partition >= 0),
  next_offset bigint  NOT NULL DEFAULT 0 CHECK (next_offset >= 0),
  PRIMARY KEY (topic, partition)
);

-- Append-only: rows are inserted by publishers and never updated.
CREATE TABLE events.log (
  topic     text        NOT NULL,
  partition integer     NOT NULL,
  "offset"  bigint      NOT NULL,
  key       text        NOT NULL,
  value     jsonb       NOT NULL,
  headers   jsonb       NOT NULL DEFAULT '{}',
  ts        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, "offset")
);

-- The bus's own committed positions (next offset to read) per consumer group.
CREATE TABLE events.consumer_offsets (
  group_id    text        NOT NULL,
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  next_offset bigint      NOT NULL CHECK (next_offset >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- Live members of consumer groups. A member counts while its heartbeat is fresh and its session (backend pid and
-- start time) still exists, so a crashed process drops out at once; partition ownership itself is an advisory lock
-- held by that session, released by PostgreSQL when the session ends.
CREATE TABLE events.members (
  group_id      text        NOT NULL,
  member_id     text        NOT NULL,
  topics        text[]      NOT NULL,
  backend_pid   integer     NOT NULL,
  backend_start timestamptz NOT NULL,
  joined_at     timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, member_id)
);
