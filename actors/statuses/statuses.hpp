#pragma once
// The statuses actor: creation and interactions through batching writers (many
// concurrent requests commit in one transaction), reads as single pool jobs.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/ids.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

struct statuses_options {
  std::chrono::milliseconds timeout{5'000};
  std::size_t max_batch = 256;
  std::size_t max_in_flight = 2;
  std::size_t queue_limit = 10'000;
  bool batching = true;  // false: every post is its own transaction (the naive baseline of bench/)
};

// Who hears about committed changes (either may be absent, e.g. in storage tests).
struct status_listeners {
  feeds_actor feeds;
  trends_actor trends;
};

statuses_actor spawn_statuses(caf::actor_system& sys, statuses_options opts, pg_pool_actor pool, id_generator& ids,
                              actor_registry& reg, status_listeners listeners = {});

} // namespace chorus::actors
