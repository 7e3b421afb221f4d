-- The transactional outbox of a service (libs/events `OutboxWriter` / `OutboxRelay`), created in the service's own
-- schema (`runMigrations` sets the search_path to it). Rows are written in the business transaction and deleted
-- by the relay once the bus has stored them.
CREATE TABLE outbox (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic      text NOT NULL,
  key        text NOT NULL,
  value      jsonb NOT NULL,
  headers    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
