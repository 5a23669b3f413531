#pragma once
// The notifications actor (one per node, kind `notifications`): runs the
// `notify` jobs of queue "notifications" (storage::pg::deliver decides and
// stores, in one transaction), publishes each new notification that is not
// filtered to the recipient's streams (user, user:notification) once a
// renderer is installed and a streams actor exists, and serves the
// notification, policy, request and marker endpoints, one pool job each.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

struct notifications_options {
  std::chrono::milliseconds timeout{5'000};  // each pool job
  streams_actor streams;                     // may be null: nothing is published
};

notifications_actor spawn_notifications(caf::actor_system& sys, notifications_options opts, pg_pool_actor pool,
                                        actor_registry& reg);

} // namespace chorus::actors
