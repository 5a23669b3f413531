#include "actors/system/node_state.hpp"

#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/wire.hpp"
#include "common/log.hpp"

#include <caf/actor_system.hpp>
#include <nlohmann/json.hpp>

namespace chorus::actors {

namespace pg = storage::pg;

// ---- Decisions ------------------------------------------------------------------

namespace node_rules {

void postgres_answered(readiness& r, int applied_version) {
  r.postgres = true;
  r.schema_version = applied_version;
  r.migrations = applied_version >= r.expected_version;
}

void redis_answered(readiness& r, const redis_result& res) {
  if (!res.replies.empty() && !res.replies[0].is_error())
    r.redis = true;
  else
    r.redis_error = res.replies.empty() ? "no reply" : res.replies[0].str;
}

std::vector<node_entry> entries_of(const std::vector<pg::node_row>& rows) {
  std::vector<node_entry> out;
  for (auto& r : rows)
    out.push_back({r.name, r.http_address, r.version, r.started_at, r.last_seen_at, r.seconds_since_seen});
  return out;
}

std::vector<migration_entry> entries_of(const std::vector<pg::applied_migration>& rows) {
  std::vector<migration_entry> out;
  for (auto& r : rows)
    out.push_back({r.version, r.name, r.applied_at});
  return out;
}

} // namespace node_rules

// ---- State: one method per message --------------------------------------------

namespace {

enum counter : std::size_t { c_heartbeats, c_heartbeat_errors, c_ready_probes };

} // namespace

struct node_state::probes {
  readiness r;
  int pending = 2;
  caf::typed_response_promise<readiness> rp;

  void finish() {
    if (--pending == 0)
      rp.deliver(r);
  }
};

void node_state::init(node_options opts, pg_pool_actor pool, redis_actor redis, actor_registry* reg) {
  opts_ = std::move(opts);
  pool_ = std::move(pool);
  redis_ = std::move(redis);
  stats_ = reg->enlist(self_, "node", opts_.name, {"heartbeats", "heartbeat_errors", "ready_probes"});
  self_->send(self_, tick_atom::value);
}

ok_atom node_state::health() {
  observe(self_, *stats_);
  return ok_atom::value;
}

caf::result<readiness> node_state::ready() {
  observe(self_, *stats_);
  stats_->add(c_ready_probes);
  auto p = std::make_shared<probes>();
  p->rp = self_->make_response_promise<readiness>();
  p->r.expected_version = pg::latest_version();
  probe_postgres(p);
  probe_redis(p);
  return p->rp;
}

void node_state::probe_postgres(std::shared_ptr<probes> p) {
  auto version = std::make_shared<int>(0);
  db_call probe{"ready_probe", [version](pqxx::connection_base& c) { *version = pg::applied_version(c); }};
  self_->request(pool_, opts_.probe_timeout, std::move(probe))
    .then(
      [p, version](ok_atom) {
        node_rules::postgres_answered(p->r, *version);
        p->finish();
      },
      [p](caf::error& err) {
        p->r.postgres_error = description_of(err);
        p->finish();
      });
}

void node_state::probe_redis(std::shared_ptr<probes> p) {
  self_->request(redis_, opts_.probe_timeout, redis_request{{{"PING"}}})
    .then(
      [p](redis_result& res) {
        node_rules::redis_answered(p->r, res);
        p->finish();
      },
      [p](caf::error& err) {
        p->r.redis_error = description_of(err);
        p->finish();
      });
}

caf::result<std::vector<node_entry>> node_state::nodes() {
  observe(self_, *stats_);
  return pool_job<std::vector<node_entry>>(self_, pool_, opts_.query_timeout, "list_nodes",
                                           [](pqxx::connection_base& c, std::vector<node_entry>& out) {
                                             out = node_rules::entries_of(pg::list_nodes(c));
                                             return caf::error{};
                                           });
}

caf::result<std::vector<migration_entry>> node_state::migrations() {
  observe(self_, *stats_);
  return pool_job<std::vector<migration_entry>>(self_, pool_, opts_.query_timeout, "list_migrations",
                                                [](pqxx::connection_base& c, std::vector<migration_entry>& out) {
                                                  out = node_rules::entries_of(pg::list_applied(c));
                                                  return caf::error{};
                                                });
}

// Upserts this node's row (marking a start until one succeeded), then again
// after opts.heartbeat.
void node_state::heartbeat() {
  observe(self_, *stats_);
  auto o = opts_;
  bool starting = !started_;
  pg::node_advert ad{o.name, o.http_address, o.version, o.cluster_address, static_cast<int>(protocol_version),
                     o.incarnation};
  db_call beat{"heartbeat", [ad, starting](pqxx::connection_base& c) { pg::upsert_node(c, ad, starting); }};
  self_->request(pool_, opts_.query_timeout, std::move(beat))
    .then(
      [this](ok_atom) {
        started_ = true;
        stats_->add(c_heartbeats);
      },
      [this](caf::error& err) {
        stats_->add(c_heartbeat_errors);
        log::write(log::level::debug, "heartbeat failed", {{"error", description_of(err)}});
      });
  self_->delayed_send(self_, opts_.heartbeat, tick_atom::value);
}

// ---- Behaviour: routes each message to its state method ------------------------

namespace {

node_actor::behavior_type node_fn(node_ptr self, node_options opts, pg_pool_actor pool, redis_actor redis,
                                  actor_registry* reg) {
  self->state.init(std::move(opts), std::move(pool), std::move(redis), reg);
  return {
    [self](health_atom) { return self->state.health(); },
    [self](ready_atom) { return self->state.ready(); },
    [self](nodes_atom) { return self->state.nodes(); },
    [self](migr_atom) { return self->state.migrations(); },
    [self](tick_atom) { self->state.heartbeat(); },
  };
}

} // namespace

node_actor spawn_node(caf::actor_system& sys, node_options opts, pg_pool_actor pool, redis_actor redis,
                      actor_registry& reg) {
  return sys.spawn(node_fn, std::move(opts), std::move(pool), std::move(redis), &reg);
}

} // namespace chorus::actors
