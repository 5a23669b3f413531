#pragma once
// The node actor answers liveness and readiness for this process, keeps this
// node's row in the `nodes` table fresh (heartbeat), and lists nodes/migrations.
// All Postgres work goes through the pool; Redis through the Redis actor.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

struct node_options {
  std::string name;
  std::string http_address;
  std::string version;
  std::string incarnation;  // this run of the node (storage::pg::new_incarnation), heartbeaten with it
  std::string cluster_address;  // host:port of the cluster port (empty: not clustered)
  std::chrono::milliseconds heartbeat{10'000};
  std::chrono::milliseconds probe_timeout{2'000};  // readiness checks
  std::chrono::milliseconds query_timeout{8'000};  // listings and heartbeat (below the HTTP deadline)
};

node_actor spawn_node(caf::actor_system& sys, node_options opts, pg_pool_actor pool, redis_actor redis,
                      actor_registry& reg);

} // namespace chorus::actors
