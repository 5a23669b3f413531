#pragma once
// Worker pools for background jobs (issue #5): one pool actor per queue claims
// runnable jobs with FOR UPDATE SKIP LOCKED under a lease, hands each to the
// handler actor of its kind with that kind's timeout, and completes or fails
// them in batches (retries after full-jitter backoff, dead after max attempts).
// It wakes on job_wake (sent by the NOTIFY listener, see job_listener) and
// polls slowly only as a safety net; each tick also requeues jobs whose lease
// expired (their worker died).
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/backoff.hpp"
#include "storage/pg/jobs.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <map>
#include <string>

namespace chorus::metrics { class registry; }

namespace chorus::actors {

struct job_kind {
  job_handler_actor handler;
  std::chrono::milliseconds timeout{30'000};  // per attempt; keep below the lease
};

struct worker_pool_options {
  std::string queue = "default";
  std::size_t concurrency = 16;               // jobs running at once
  // Jobs claimed ahead of free slots and held in a local queue (refilled when
  // half empty), so that one claim statement brings many jobs; their lease runs
  // from the claim, and one not started within half the lease is left to the
  // reclaim sweep. 0: claim only for free slots.
  std::size_t prefetch = 0;
  // Locked claims for queues of short jobs: `sessions` dedicated connections to
  // `dsn` each hold one batch of (concurrency + prefetch) / sessions jobs locked
  // in an open transaction while they run, then delete the finished ones and
  // commit (storage::pg::lock_jobs): no row version is written at claim. A dead
  // worker's batch rolls back and is free at once; an open batch is bounded by
  // `lease` (idle_in_transaction_session_timeout); attempts count failures only,
  // so a job that kills its worker is retried without limit. Jobs of a locked
  // queue never show as running.
  bool locked = false;
  std::size_t sessions = 2;
  std::string dsn;
  std::chrono::milliseconds lease{120'000};   // a claimed job is reclaimed this long after its claim
  std::chrono::milliseconds poll{5'000};      // safety-net poll (wake-ups come from NOTIFY)
  std::chrono::milliseconds timeout{5'000};   // Postgres jobs of the pool
  backoff_policy backoff;
  std::string owner;                          // lease owner: unique per node incarnation and queue
  // Jobs leased by a node incarnation silent this long are reclaimed by the sweep
  // at once (storage::pg::reclaim_lost), not after their lease.
  std::chrono::milliseconds dead_after{10'000};
  std::map<std::string, job_kind> kinds;      // handlers by job kind
};

job_pool_actor spawn_worker_pool(caf::actor_system& sys, worker_pool_options opts, pg_pool_actor pool,
                                 actor_registry& reg, metrics::registry* metrics);

// A detached actor on its own connection: LISTEN chorus_jobs, and a job_wake to
// the pool of each queue named in a notification. Reconnects with backoff.
caf::actor spawn_job_listener(caf::actor_system& sys, std::string dsn, std::map<std::string, job_pool_actor> pools,
                              actor_registry& reg);

// A recurring job: enqueued once per `period` slot across all nodes (the node
// that records the slot in cron_runs enqueues it, in the same transaction).
struct schedule {
  std::string name;  // unique in the cluster
  std::chrono::milliseconds period{3'600'000};
  storage::pg::new_job job;
};

struct scheduler_options {
  std::vector<schedule> schedules;
  std::chrono::milliseconds tick{1'000};
  std::chrono::milliseconds timeout{5'000};
};

// Every node runs one; each slot of each schedule is enqueued once in total.
caf::actor spawn_job_scheduler(caf::actor_system& sys, scheduler_options opts, pg_pool_actor pool, actor_registry& reg);

} // namespace chorus::actors
