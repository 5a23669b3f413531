-- Chorus nodes that have joined the cluster, with a heartbeat. Nodes upsert their
-- row on start and on every heartbeat; operators see stale rows as dead nodes.
CREATE TABLE nodes (
  name          text PRIMARY KEY,
  http_address  text NOT NULL,
  version       text NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
