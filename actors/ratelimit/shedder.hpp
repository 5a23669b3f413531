#pragma once
// Adaptive load shedding (issue #6). A shedder actor samples, every tick, the
// background job backlog (runnable jobs and the oldest one's age, all queues)
// and the Postgres pool's expected wait (jobs queued for a connection / the
// pool's measured completion rate, taken as at least 100 jobs/s per
// connection), and turns them into a pressure: the largest
// of backlog / shed_queue_depth, age / shed_oldest_job_s and wait /
// shed_pg_wait_ms. Pressure 1 sheds anonymous writes, 2 also authenticated
// writes, 4 also reads and sign-ins (http/ratelimit.cpp answers them 503).
// Retry-After is the time the measured drain rate needs to bring the pressure
// back under 1 (1–60 s). The level is published for HTTP threads in a
// shed_signal; chorus_shed_level shows it.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <atomic>
#include <caf/fwd.hpp>
#include <chrono>
#include <memory>

namespace chorus::metrics { class registry; }

namespace chorus::actors {

struct shed_options {
  std::int64_t queue_depth = 100'000;        // runnable jobs at pressure 1 (0: not a signal)
  double oldest_job_s = 300;                 // age of the oldest runnable job at pressure 1 (0: not a signal)
  double pg_wait_ms = 500;                   // expected wait for a pool connection at pressure 1 (0: not a signal)
  std::chrono::milliseconds tick{500};
};

enum class shed_class : int { anonymous_write = 1, authenticated_write = 2, read = 3 };

struct shed_signal {
  std::atomic<int> level{0};           // 0: nothing shed; 1, 2, 3: shed_class values up to it
  std::atomic<int> retry_after_s{1};
  bool sheds(shed_class c) const noexcept { return level.load(std::memory_order_relaxed) >= static_cast<int>(c); }
};

// The level of a pressure: 1 at 1, 2 at 2, 3 at 4.
int shed_level(double pressure) noexcept;

shedder_actor spawn_shedder(caf::actor_system& sys, shed_options opts, pg_pool_actor pool, std::shared_ptr<shed_signal> out,
                         actor_registry& reg, metrics::registry* metrics);

} // namespace chorus::actors
