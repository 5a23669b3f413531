#pragma once
// The trends actor: trending statuses and hashtags from time-decayed scores that
// are updated on every post/interaction/removal event (see trend_scores.hpp), with
// no periodic recompute. A tick prunes decayed entries a bounded batch at a time.
// At start it seeds itself once from one bounded Postgres query, so a restart does
// not empty the trends. Reads hydrate the ranked ids through the hot-status cache
// (anonymous) or one pool job (signed in, viewer-specific visibility).
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "actors/trends/trend_scores.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <functional>

namespace chorus::actors {

struct trends_options {
  trend_settings scoring;
  std::chrono::milliseconds timeout{5'000};      // every pool/cache request
  std::chrono::milliseconds tick{60'000};        // prune interval
  int seed_hours = 48;                           // startup seed window (0: no seeding)
  int seed_limit = 5'000;                        // … at most this many statuses
  int seed_attempts = 5;                         // a failed seed is retried on the next ticks
  std::function<double()> now;                   // wall clock in Unix seconds; empty: system_clock
};

trends_actor spawn_trends(caf::actor_system& sys, trends_options opts, pg_pool_actor pool, status_cache_actor cache,
                          actor_registry& reg);

} // namespace chorus::actors
