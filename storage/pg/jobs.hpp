#pragma once
// The job queue's statements (issue #5): batched idempotent enqueue (usable in
// the caller's transaction, so a job commits with the write that causes it),
// claiming with FOR UPDATE SKIP LOCKED under a lease, batched completion and
// failure (retry at a given delay, dead after max attempts), lease-expiry
// reclaim, replay of dead jobs, listing and per-queue depth. No CAF here.
#include "common/model/job.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pqxx { class connection_base; class transaction_base; }

namespace chorus::storage::pg {

using job_row = model::job;
using model::queue_depth;

struct new_job {
  std::string queue;
  std::string kind;
  std::string payload = "{}";  // JSON text
  int priority = 0;
  double delay_s = 0;          // run_at = now() + delay
  int max_attempts = 25;
  std::string unique_key;      // "" = none; else at most one active job per (queue, key)
};

struct enqueued {
  std::int64_t id = 0;
  bool existing = false;  // a duplicate: the active job that already had this key
};

// One statement for the batch (plus one to find duplicates' existing jobs), and a
// NOTIFY on channel chorus_jobs per queue (payload: the queue), delivered at commit.
std::vector<enqueued> enqueue_jobs(pqxx::transaction_base& tx, const std::vector<new_job>& jobs);
std::vector<enqueued> enqueue_jobs(pqxx::connection_base& c, const std::vector<new_job>& jobs);

// Up to `n` runnable jobs of `queue` (priority, then run_at), marked running
// under `owner`'s lease for `lease_s` seconds; attempts counts this claim. Only
// id, queue, kind, payload, priority, attempts, max_attempts, last_error,
// state and lease_owner are filled.
std::vector<job_row> claim_jobs(pqxx::connection_base& c, const std::string& queue, int n, const std::string& owner,
                                double lease_s);

// Deletes finished jobs still leased by `owner` (a job whose lease was lost and
// reclaimed is not touched). Returns how many were completed.
std::size_t complete_jobs(pqxx::connection_base& c, const std::vector<job_id>& ids, const std::string& owner);

struct job_failure {
  std::int64_t id = 0;
  std::string error;
  double retry_in_s = 0;  // the backoff chosen by the caller
};

struct failed_job {
  std::int64_t id = 0;
  bool dead = false;  // out of attempts
};

// Failed attempts of jobs leased by `owner`: queued again after their delay, or
// dead when they have used max_attempts.
std::vector<failed_job> fail_jobs(pqxx::connection_base& c, const std::vector<job_failure>& failures,
                                  const std::string& owner);

// Running jobs whose worker is gone: queued again at once, or dead when out of
// attempts. Returns their ids. A job is reclaimed when its lease expired, or —
// without waiting for that — when its lease owner names a node incarnation
// (lease_owner_prefix) that has not heartbeaten for `dead_after_s` (killed, or
// restarted as a new incarnation), provided the claim is older than that too
// (a node starting up claims before its first heartbeat lands).
std::vector<std::int64_t> reclaim_lost(pqxx::connection_base& c, double dead_after_s);

// The lease owner of a worker of node incarnation `incarnation` ("i" + 16 hex
// digits): "<incarnation>/<rest>". reclaim_lost knows owners by this prefix.
std::string lease_owner(const std::string& incarnation, const std::string& rest);
// A fresh incarnation id for this run of a node.
std::string new_incarnation();

// Dead jobs queued again with fresh attempts (skipped when an active job holds the
// same unique key). Returns the ids replayed.
std::vector<job_id> replay_dead(pqxx::connection_base& c, const std::vector<job_id>& ids);

// Queued jobs waiting for a retry delay made runnable now. Returns their ids.
std::vector<job_id> retry_now(pqxx::connection_base& c, const std::vector<job_id>& ids);

// Locked claims, for queues of short jobs (worker_pool_options::locked): the rows
// stay 'queued' and are held by FOR UPDATE SKIP LOCKED in the caller's open
// transaction while they run; the caller deletes the finished ones and records
// the failures in that transaction, then commits. No row version is written at
// claim (the lease design's main cost). If the worker dies, the transaction
// rolls back and the jobs are free at once; attempts counts failed attempts only.
std::vector<job_row> lock_jobs(pqxx::transaction_base& tx, const std::string& queue, int n);
std::size_t delete_jobs(pqxx::transaction_base& tx, const std::vector<job_id>& ids);
std::vector<failed_job> fail_locked_jobs(pqxx::transaction_base& tx, const std::vector<job_failure>& failures);

// A dedicated connection for locked claims: it holds one batch of jobs locked
// (lock_jobs) in an open transaction until their outcomes are recorded. A batch
// left open longer than `idle_limit` is ended by the server
// (idle_in_transaction_session_timeout). Errors throw; call reset() after one.
class locked_session {
public:
  locked_session(std::string dsn, std::string application_name, std::chrono::milliseconds idle_limit);
  ~locked_session();
  locked_session(const locked_session&) = delete;
  locked_session& operator=(const locked_session&) = delete;

  // Rolls back any open batch, connects if needed, and locks up to `n` runnable
  // jobs of `queue`; an empty batch is committed at once (nothing stays open).
  std::vector<job_row> lock(const std::string& queue, int n);
  // Whether a batch is open.
  bool open() const;
  struct outcome {
    std::size_t completed = 0;
    std::vector<failed_job> failed;
  };
  // Deletes the open batch's finished jobs, records its failures and commits.
  outcome finish(const std::vector<job_id>& done, const std::vector<job_failure>& failed);
  // Rolls back the open batch (its jobs are free again) and closes the connection.
  void reset();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// LISTEN chorus_jobs on a dedicated connection: `on_notify` gets each
// notification's payload (a queue name). Connects in the constructor; both
// throw when the connection fails.
class job_notifications {
public:
  job_notifications(const std::string& dsn, const std::string& application_name,
                    std::function<void(const std::string& queue)> on_notify);
  ~job_notifications();
  job_notifications(const job_notifications&) = delete;
  job_notifications& operator=(const job_notifications&) = delete;

  // Blocks at most `timeout` for notifications and delivers them; returns how many arrived.
  int await(std::chrono::microseconds timeout);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Whether a queue ("" = any) has a queued or running job; cheap (two index
// probes), for waiting until a queue has drained.
bool active_jobs(pqxx::connection_base& c, const std::string& queue);

// Jobs of a queue ("" = all) in a state ("" = all), newest first, before `before_id` (0 = from the newest).
std::vector<job_row> list_jobs(pqxx::connection_base& c, const std::string& queue, const std::string& state,
                               std::int64_t before_id, int limit);

std::vector<queue_depth> queue_depths(pqxx::connection_base& c);

// Scheduled jobs: takes period `slot` of schedule `name` and enqueues `job` in one
// transaction; 0 when another node already took the slot.
std::int64_t schedule_slot(pqxx::connection_base& c, const std::string& name, std::int64_t slot, const new_job& job);

// Deletes scheduled-run records older than `days` (they only guard their slot).
std::size_t prune_cron_runs(pqxx::connection_base& c, int days);

// Deletes node heartbeat rows not seen for `days` (nodes that were retired).
std::size_t prune_nodes(pqxx::connection_base& c, int days);

} // namespace chorus::storage::pg
