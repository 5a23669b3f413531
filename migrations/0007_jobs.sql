-- Background jobs (issue #5): claimed by worker pools with FOR UPDATE SKIP LOCKED.
-- Finished jobs are deleted; dead ones (out of attempts) stay to be listed and replayed.
CREATE TABLE jobs (
  id                bigserial PRIMARY KEY,
  queue             text NOT NULL,
  kind              text NOT NULL,
  payload           jsonb NOT NULL DEFAULT '{}',
  priority          smallint NOT NULL DEFAULT 0,          -- higher first within a queue
  run_at            timestamptz NOT NULL DEFAULT now(),
  attempts          integer NOT NULL DEFAULT 0,           -- claims so far
  max_attempts      integer NOT NULL DEFAULT 25,
  state             text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'dead')),
  unique_key        text,                                 -- idempotent enqueue among active jobs
  lease_owner       text,                                 -- worker (node/pool) holding a running job
  lease_expires_at  timestamptz,
  last_error        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
-- A duplicate enqueue of an active job (queued or running) finds the existing one.
CREATE UNIQUE INDEX jobs_unique_active ON jobs (queue, unique_key)
  WHERE unique_key IS NOT NULL AND state IN ('queued', 'running');
-- The claim path: the next runnable jobs of a queue, by priority then time.
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE state = 'queued';
-- Lease expiry sweeps.
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
-- Dead jobs, listed per queue.
CREATE INDEX jobs_dead ON jobs (queue, id) WHERE state = 'dead';
