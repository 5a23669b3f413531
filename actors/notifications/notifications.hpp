#pragma once
// The notifications actor (one per node, kind `notifications`): runs the
// `notify` jobs of queue "notifications" (storage::pg::deliver decides and
// stores, in one transaction), publishes each new notification that is not
// filtered to the recipient's streams (user, user:notification) once a
// renderer is installed and a streams actor exists, and serves the
// notification, policy, request and marker endpoints, one pool job each (one
// transaction); the pages of notifications then take their statuses from the
// hot-status cache when there is one (the pool job reads only the viewer's
// flags and the accounts the statuses do not bring).
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

struct notifications_options {
  std::chrono::milliseconds timeout{5'000};  // each pool job
  streams_actor streams;                     // may be null: nothing is published
  status_cache_actor cache;                  // may be null: pages hydrate their statuses from Postgres
};

notifications_actor spawn_notifications(caf::actor_system& sys, notifications_options opts, pg_pool_actor pool,
                                        actor_registry& reg);

} // namespace chorus::actors
