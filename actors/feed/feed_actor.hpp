#pragma once
// Internal to actors/feed: what the feed manager and the per-user feed actors
// share, and how the manager spawns a feed. The public API is feeds.hpp.
#include "actors/feed/feeds.hpp"

#include <caf/fwd.hpp>
#include <cstdint>
#include <memory>

namespace chorus::metrics { class counter; }

namespace chorus::actors::feeds_detail {

// What every feed actor shares with its manager (immutable after start).
struct feed_deps {
  feeds_options opts;
  pg_pool_actor pool;
  redis_actor redis;
  status_cache_actor cache;
  feeds_actor manager;
  metrics::counter* cold_redis = nullptr;
  metrics::counter* cold_postgres = nullptr;
  metrics::counter* deep_reads = nullptr;
};

// Spawns the feed of `viewer`, linked to `manager`.
feed_actor spawn_feed(caf::local_actor* manager, account_id viewer, std::shared_ptr<const feed_deps> deps);

} // namespace chorus::actors::feeds_detail
