// The job scheduler (spawn_job_scheduler in worker_pool.hpp).
#include "actors/jobs/worker_pool.hpp"

#include "actors/protocol/errors.hpp"
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

struct scheduler_state {
  static inline const char* name = "chorus.job_scheduler";
  scheduler_options opts;
  pg_pool_actor pool;
  std::map<std::string, std::int64_t> last_slot;
  std::shared_ptr<actor_stats> stats;
};

caf::behavior scheduler_fn(caf::stateful_actor<scheduler_state>* self, scheduler_options opts, pg_pool_actor pool,
                           actor_registry* reg) {
  self->state.opts = std::move(opts);
  self->state.pool = std::move(pool);
  self->state.stats = reg->enlist(self, "job_scheduler", "main", {"enqueued", "taken_elsewhere", "errors"});
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      auto& s = self->state;
      auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
      for (auto& sc : s.opts.schedules) {
        auto slot = now_ms / std::max<std::int64_t>(1, sc.period.count());
        if (s.last_slot[sc.name] >= slot)
          continue;
        s.last_slot[sc.name] = slot;
        auto id = std::make_shared<std::int64_t>(0);
        self->request(s.pool, s.opts.timeout,
                      db_call{"jobs.schedule", [=, name = sc.name, job = sc.job](pqxx::connection_base& c) {
                                *id = pg::schedule_slot(c, name, slot, job);
                              }})
          .then([self, id](ok_atom) { self->state.stats->add(*id ? 0 : 1); },
                [self, name = sc.name, slot](caf::error& err) {
                  self->state.stats->add(2);
                  self->state.last_slot[name] = slot - 1;  // try this slot again at the next tick
                  log::write(log::level::warn, "jobs: scheduling failed", {{"schedule", name}, {"error", description_of(err)}});
                });
      }
      self->delayed_send(self, s.opts.tick, tick_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_job_scheduler(caf::actor_system& sys, scheduler_options opts, pg_pool_actor pool, actor_registry& reg) {
  return sys.spawn(scheduler_fn, std::move(opts), std::move(pool), &reg);
}

} // namespace chorus::actors
