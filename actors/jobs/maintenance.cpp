#include "actors/jobs/maintenance.hpp"

#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "storage/pg/jobs.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

namespace chorus::actors {
namespace {

struct maintenance_state {
  static inline const char* name = "chorus.maintenance";
  pg_pool_actor pool;
  std::shared_ptr<actor_stats> stats;
};

using self_ptr = job_handler_actor::stateful_pointer<maintenance_state>;

job_handler_actor::behavior_type maintenance_fn(self_ptr self, pg_pool_actor pool, actor_registry* reg) {
  self->state.pool = std::move(pool);
  self->state.stats = reg->enlist(self, "job_handler", "maintenance", {"runs"});
  return {
    [=](job_work& w) -> caf::result<ok_atom> {
      observe(self, *self->state.stats);
      if (w.kind == "chorus.noop")
        return ok_atom::value;
      auto payload = nlohmann::json::parse(w.payload, nullptr, false);
      int days = payload.is_object() ? payload.value("days", 7) : 7;
      if (days < 1)
        return make_error(errc::unprocessable, "days must be at least 1");
      bool nodes = w.kind == "maintenance.prune_nodes";
      if (!nodes && w.kind != "maintenance.prune_cron_runs")
        return make_error(errc::unprocessable, "unknown maintenance job '" + w.kind + "'");
      self->state.stats->add(0);
      return pool_job<ok_atom>(self, self->state.pool, std::chrono::seconds(30), nodes ? "maintenance.prune_nodes"
                                                                                       : "maintenance.prune_cron_runs",
                               [nodes, days](pqxx::connection_base& c, ok_atom&) -> caf::error {
                                 auto n = nodes ? storage::pg::prune_nodes(c, days) : storage::pg::prune_cron_runs(c, days);
                                 if (n > 0)
                                   log::write(log::level::info, nodes ? "pruned retired nodes" : "pruned old cron runs",
                                              {{"rows", n}, {"days", days}});
                                 return {};
                               });
    },
  };
}

struct admin_state {
  static inline const char* name = "chorus.jobs_admin";
  pg_pool_actor pool;
  std::shared_ptr<actor_stats> stats;
};

using admin_ptr = jobs_admin_actor::stateful_pointer<admin_state>;

jobs_admin_actor::behavior_type admin_fn(admin_ptr self, pg_pool_actor pool, actor_registry* reg) {
  self->state.pool = std::move(pool);
  self->state.stats = reg->enlist(self, "jobs_admin", "main", {"queries", "changes"});
  return {
    [=](jobs_query& q) -> caf::result<jobs_view> {
      observe(self, *self->state.stats);
      self->state.stats->add(0);
      return pool_job<jobs_view>(self, self->state.pool, std::chrono::seconds(5), "jobs.admin_list",
                                 [q](pqxx::connection_base& c, jobs_view& out) -> caf::error {
                                   out.queues = storage::pg::queue_depths(c);
                                   out.jobs = storage::pg::list_jobs(c, q.queue, q.state, q.before, q.limit);
                                   return {};
                                 });
    },
    [=](jobs_action& a) -> caf::result<jobs_changed> {
      observe(self, *self->state.stats);
      self->state.stats->add(1);
      return pool_job<jobs_changed>(self, self->state.pool, std::chrono::seconds(5), "jobs.admin_change",
                                    [a](pqxx::connection_base& c, jobs_changed& out) -> caf::error {
                                      out.ids = a.replay ? storage::pg::replay_dead(c, a.ids)
                                                         : storage::pg::retry_now(c, a.ids);
                                      return {};
                                    });
    },
  };
}

} // namespace

jobs_admin_actor spawn_jobs_admin(caf::actor_system& sys, pg_pool_actor pool, actor_registry& reg) {
  return sys.spawn(admin_fn, std::move(pool), &reg);
}

job_handler_actor spawn_maintenance(caf::actor_system& sys, pg_pool_actor pool, actor_registry& reg) {
  return sys.spawn(maintenance_fn, std::move(pool), &reg);
}

} // namespace chorus::actors
