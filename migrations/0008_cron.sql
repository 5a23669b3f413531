-- Scheduled (cron-like) jobs: one row per schedule and period slot. The node that
-- inserts the row enqueues the slot's job in the same transaction, so each slot
-- runs once across all nodes.
CREATE TABLE cron_runs (
  name         text NOT NULL,
  slot         bigint NOT NULL,       -- floor(unix milliseconds / period)
  job_id       bigint,
  enqueued_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, slot)
);
