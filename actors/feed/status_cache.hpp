#pragma once
// The hot-status cache: viewer-independent status rows (with the statuses they
// reblog and every account they refer to) for the statuses read most. A
// multi-get answers hits from memory and loads all misses of a moment with one
// Postgres multi-get, coalescing concurrent misses of the same ids. Entries
// expire after `ttl` (counters stay fresh across nodes) and are dropped at once
// on local interactions and deletes.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::metrics { class registry; }

namespace chorus::actors {

struct status_cache_options {
  std::size_t capacity = 100'000;           // statuses kept (oldest loaded evicted first)
  std::chrono::milliseconds ttl{10'000};
  std::chrono::milliseconds timeout{5'000};  // pool job deadline
};

status_cache_actor spawn_status_cache(caf::actor_system& sys, status_cache_options opts, pg_pool_actor pool,
                                      actor_registry& reg, metrics::registry* metrics);

} // namespace chorus::actors
