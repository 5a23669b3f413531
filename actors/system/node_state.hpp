#pragma once
// Internal to actors/system: the node actor's state (node.cpp), one method per
// message with readiness split into its two probes, and the decisions it takes
// from what the probes and listings return: plain functions, no actor and no
// database, so tests call them directly.
#include "actors/system/node.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/nodes.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

namespace chorus::actors {

// ---- Decisions ------------------------------------------------------------------

namespace node_rules {

// Postgres answered with the schema version it has applied.
void postgres_answered(readiness& r, int applied_version);

// Redis answered a PING: ready unless the reply is missing or an error.
void redis_answered(readiness& r, const redis_result& res);

std::vector<node_entry> entries_of(const std::vector<storage::pg::node_row>& rows);
std::vector<migration_entry> entries_of(const std::vector<storage::pg::applied_migration>& rows);

} // namespace node_rules

// ---- State -----------------------------------------------------------------------

class node_state;
using node_ptr = node_actor::stateful_pointer<node_state>;

class node_state {
public:
  static inline const char* name = "chorus.node";

  explicit node_state(node_ptr self) : self_(self) {}

  // Enlists the actor and starts the heartbeat.
  void init(node_options opts, pg_pool_actor pool, redis_actor redis, actor_registry* reg);

  // One per message of node_actor.
  ok_atom health();
  caf::result<readiness> ready();
  caf::result<std::vector<node_entry>> nodes();
  caf::result<std::vector<migration_entry>> migrations();
  void heartbeat();

private:
  struct probes;  // readiness being assembled from both probes

  // ready: probe_postgres and probe_redis in parallel; the later answer delivers.
  void probe_postgres(std::shared_ptr<probes> p);
  void probe_redis(std::shared_ptr<probes> p);

  node_ptr self_;
  node_options opts_;
  pg_pool_actor pool_;
  redis_actor redis_;
  std::shared_ptr<actor_stats> stats_;
  bool started_ = false;  // first successful heartbeat done
};

} // namespace chorus::actors
