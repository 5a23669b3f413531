#include "actors/system/node.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/nodes.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

namespace chorus::actors {
namespace {

struct node_state {
  static inline const char* name = "chorus.node";
  node_options opts;
  pg_pool_actor pool;
  redis_actor redis;
  std::shared_ptr<actor_stats> stats;
  bool started = false;  // first successful heartbeat done
};

using node_ptr = node_actor::stateful_pointer<node_state>;

node_actor::behavior_type node_fn(node_ptr self, node_options opts, pg_pool_actor pool,
                                  redis_actor redis, actor_registry* reg) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.pool = std::move(pool);
  st.redis = std::move(redis);
  st.stats = reg->enlist(self, "node", st.opts.name, {"heartbeats", "heartbeat_errors", "ready_probes"});
  self->send(self, tick_atom::value);
  return {
    [=](health_atom) -> ok_atom {
      observe(self, *self->state.stats);
      return ok_atom::value;
    },
    [=](ready_atom) -> caf::result<readiness> {
      auto& s = self->state;
      observe(self, *s.stats);
      s.stats->add(2);
      struct acc {
        readiness r;
        int pending = 2;
        caf::typed_response_promise<readiness> rp;
        void finish() {
          if (--pending == 0)
            rp.deliver(r);
        }
      };
      auto a = std::make_shared<acc>();
      a->rp = self->make_response_promise<readiness>();
      a->r.expected_version = storage::pg::latest_version();
      auto version = std::make_shared<int>(0);
      db_call probe{"ready_probe",
                    [version](pqxx::connection_base& c) { *version = storage::pg::applied_version(c); }};
      self->request(s.pool, s.opts.probe_timeout, std::move(probe))
        .then(
          [a, version](ok_atom) {
            a->r.postgres = true;
            a->r.schema_version = *version;
            a->r.migrations = *version >= a->r.expected_version;
            a->finish();
          },
          [a](caf::error& err) {
            a->r.postgres_error = description_of(err);
            a->finish();
          });
      self->request(s.redis, s.opts.probe_timeout, redis_request{{{"PING"}}})
        .then(
          [a](redis_result& res) {
            if (!res.replies.empty() && !res.replies[0].is_error())
              a->r.redis = true;
            else
              a->r.redis_error = res.replies.empty() ? "no reply" : res.replies[0].str;
            a->finish();
          },
          [a](caf::error& err) {
            a->r.redis_error = description_of(err);
            a->finish();
          });
      return a->rp;
    },
    [=](nodes_atom) -> caf::result<std::vector<node_entry>> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<std::vector<node_entry>>();
      auto rows = std::make_shared<std::vector<storage::pg::node_row>>();
      self->request(s.pool, s.opts.query_timeout,
                    db_call{"list_nodes", [rows](pqxx::connection_base& c) { *rows = storage::pg::list_nodes(c); }})
        .then(
          [rp, rows](ok_atom) mutable {
            std::vector<node_entry> out;
            for (auto& r : *rows)
              out.push_back({r.name, r.http_address, r.version, r.started_at, r.last_seen_at, r.seconds_since_seen});
            rp.deliver(std::move(out));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](migr_atom) -> caf::result<std::vector<migration_entry>> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<std::vector<migration_entry>>();
      auto rows = std::make_shared<std::vector<storage::pg::applied_migration>>();
      self->request(s.pool, s.opts.query_timeout,
                    db_call{"list_migrations", [rows](pqxx::connection_base& c) { *rows = storage::pg::list_applied(c); }})
        .then(
          [rp, rows](ok_atom) mutable {
            std::vector<migration_entry> out;
            for (auto& r : *rows)
              out.push_back({r.version, r.name, r.applied_at});
            rp.deliver(std::move(out));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](tick_atom) {
      auto& s = self->state;
      observe(self, *s.stats);
      auto o = s.opts;
      bool starting = !s.started;
      self->request(s.pool, s.opts.query_timeout,
                    db_call{"heartbeat", [o, starting](pqxx::connection_base& c) {
                              storage::pg::upsert_node(c, o.name, o.http_address, o.version, starting, o.incarnation);
                            }})
        .then([self](ok_atom) {
                self->state.started = true;
                self->state.stats->add(0);
              },
              [self](caf::error& err) {
                self->state.stats->add(1);
                log::write(log::level::debug, "heartbeat failed", {{"error", description_of(err)}});
              });
      self->delayed_send(self, s.opts.heartbeat, tick_atom::value);
    },
  };
}

} // namespace

node_actor spawn_node(caf::actor_system& sys, node_options opts, pg_pool_actor pool, redis_actor redis,
                      actor_registry& reg) {
  return sys.spawn(node_fn, std::move(opts), std::move(pool), std::move(redis), &reg);
}

} // namespace chorus::actors
