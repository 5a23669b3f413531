#pragma once
// The heart of the detached-worker pattern (worker.hpp), without an actor: one
// blocking resource (a connection, or nothing), the jobs run on it, and when to
// try to reopen it. A job finding the resource closed opens it inline first
// (its caller is waiting anyway). Once it is closed, attempt n to reopen it
// comes after exponential backoff with full jitter (common/backoff.hpp): a
// uniform draw from [0, min(cap, base * 2^(n-1))], from a generator seeded by
// the options (tests inject the seed); n starts over once it is open. The
// owner (the worker actor, or a rate-limit shard) schedules the attempts on
// its actor clock and calls reopen() when one is due.
//
// A Resource is a default-constructible, movable class with
//   using job_type = ...;          the job (db_call, redis_call, blocking_call)
//   static const char* actor_name; CAF's name of a worker owning one
//   bool is_open() const;
//   void open();                   blocking; throws when it cannot
//   void run(job_type&);           blocking; opens the resource first if it is closed;
//                                  throws the job's failure (chorus::failure for
//                                  classified ones), closing itself if that lost it
#include "actors/protocol/errors.hpp"
#include "actors/registry/registry.hpp"
#include "common/backoff.hpp"
#include "common/log.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace chorus::actors {

struct worker_options {
  std::uint32_t index = 0;                 // the i of a worker's reports
  std::string kind;                        // registry kind ("pg_worker"); empty: not enlisted
  std::string name;                        // registry name
  std::string jobs_counter = "jobs";       // the registry name of its job count
  std::string resource;                    // in log lines ("postgres"); empty: no log lines
  backoff_policy reconnect{std::chrono::milliseconds(100), std::chrono::milliseconds(5'000)};
  std::uint64_t seed = 0;                  // of the backoff's jitter; 0: from std::random_device
};

template <class Resource>
class worker_core {
public:
  using job_type = typename Resource::job_type;
  enum counter : std::size_t { c_connected, c_jobs, c_errors };

  worker_core() = default;
  // `stats`: counters named counter_names(opts), e.g. a registry entry's; none: its own.
  worker_core(Resource res, worker_options opts, std::shared_ptr<actor_stats> stats = nullptr)
    : res_(std::move(res)), opts_(std::move(opts)), stats_(std::move(stats)) {
    rng_.seed(opts_.seed != 0 ? opts_.seed : std::random_device{}());
    if (!stats_)
      stats_ = std::make_shared<actor_stats>(counter_names(opts_));
    stats_->set(c_connected, is_open() ? 1 : 0);
  }

  static std::vector<std::string> counter_names(const worker_options& o) { return {"connected", o.jobs_counter, "errors"}; }

  const worker_options& options() const noexcept { return opts_; }
  actor_stats& stats() noexcept { return *stats_; }
  bool is_open() const { return res_.is_open(); }
  bool reopen_scheduled() const noexcept { return scheduled_; }

  // Runs `job`; the job's error, or none.
  caf::error run(job_type& job) {
    caf::error err;
    try {
      res_.run(job);
    } catch (...) {
      err = current_exception_error();
      stats_->add(c_errors);
    }
    stats_->add(c_jobs);
    note(description_of(err));
    return err;
  }

  // A scheduled attempt to reopen the resource is due; false when it is open
  // already (nothing was tried).
  bool reopen() {
    scheduled_ = false;
    if (is_open())
      return false;
    std::string error;
    try {
      res_.open();
    } catch (...) {
      error = description_of(current_exception_error());
    }
    note(error);
    return true;
  }

  // When the resource is closed and no attempt is scheduled: the delay before
  // the next one, which counts as scheduled from now on.
  std::optional<std::chrono::milliseconds> next_attempt() {
    if (is_open() || scheduled_)
      return std::nullopt;
    scheduled_ = true;
    return backoff_delay(opts_.reconnect, ++attempt_, rng_);
  }

private:
  // The resource's state after a job or an attempt to open it; an outage is
  // logged once, and its end.
  void note(const std::string& error) {
    bool open = is_open();
    stats_->set(c_connected, open ? 1 : 0);
    if (open) {
      attempt_ = 0;
      if (logged_down_ && !opts_.resource.empty())
        log::write(log::level::info, opts_.resource + " connection restored", {{"worker", opts_.index}});
      logged_down_ = false;
    } else {
      if (!logged_down_ && !opts_.resource.empty())
        log::write(log::level::warn, opts_.resource + " connection failed",
                   {{"worker", opts_.index}, {"error", error}});
      logged_down_ = true;
    }
  }

  Resource res_;
  worker_options opts_;
  std::shared_ptr<actor_stats> stats_;
  std::mt19937_64 rng_;
  int attempt_ = 0;          // attempts since the resource was last open
  bool scheduled_ = false;   // an attempt is scheduled
  bool logged_down_ = false;
};

} // namespace chorus::actors
