// The NOTIFY listener (spawn_job_listener in worker_pool.hpp).
#include "actors/jobs/worker_pool.hpp"

#include "common/log.hpp"
#include "storage/pg/jobs.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>
#include <memory>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;

// The NOTIFY listener: a detached actor that blocks at most 200 ms per turn
// waiting for notifications, so it still handles its mailbox (and exit) between turns.
struct listener_state {
  static inline const char* name = "chorus.job_listener";
  std::string dsn;
  std::map<std::string, job_pool_actor> pools;
  std::unique_ptr<pg::job_notifications> conn;
  std::chrono::milliseconds backoff{100};
  std::shared_ptr<actor_stats> stats;
};

caf::behavior listener_fn(caf::stateful_actor<listener_state>* self, std::string dsn,
                          std::map<std::string, job_pool_actor> pools, actor_registry* reg) {
  self->state.dsn = std::move(dsn);
  self->state.pools = std::move(pools);
  self->state.stats = reg->enlist(self, "job_listener", "chorus_jobs", {"connected", "notifications"});
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      auto& s = self->state;
      try {
        if (!s.conn) {
          s.conn = std::make_unique<pg::job_notifications>(s.dsn, "chorusd-jobs-listener", [self](const std::string& queue) {
            auto& pools = self->state.pools;
            if (auto it = pools.find(queue); it != pools.end())
              self->send(it->second, job_wake{queue});
          });
          s.stats->set(0, 1);
          s.backoff = std::chrono::milliseconds(100);
          for (auto& [queue, pool] : s.pools)  // anything enqueued while we were not listening
            self->send(pool, job_wake{queue});
        }
        auto n = s.conn->await(std::chrono::milliseconds(200));
        s.stats->add(1, n);
        self->send(self, tick_atom::value);
      } catch (const std::exception& e) {
        s.conn.reset();
        s.stats->set(0, 0);
        log::write(log::level::warn, "jobs: notification listener lost its connection",
                   {{"error", e.what()}, {"retry_ms", s.backoff.count()}});
        self->delayed_send(self, s.backoff, tick_atom::value);
        s.backoff = std::min(s.backoff * 2, std::chrono::milliseconds(5'000));
      }
    },
  };
}

} // namespace

caf::actor spawn_job_listener(caf::actor_system& sys, std::string dsn, std::map<std::string, job_pool_actor> pools,
                              actor_registry& reg) {
  return sys.spawn<caf::detached>(listener_fn, std::move(dsn), std::move(pools), &reg);
}

} // namespace chorus::actors
