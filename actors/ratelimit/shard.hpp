#pragma once
// Internal to actors/ratelimit: the shard actors behind a limiter (see
// limiter.hpp for how buckets, batches and leases work).
#include "actors/ratelimit/limiter.hpp"

#include <atomic>
#include <caf/fwd.hpp>
#include <cstddef>
#include <memory>

namespace chorus::metrics { class registry; }

namespace chorus::actors {

// Shard `index` of a limiter: a detached actor with its own Redis connection.
// `outage` counts this node's shards that cannot reach Redis; `leases` is the
// table the limiter's take() reads.
limiter_shard_actor spawn_limiter_shard(caf::actor_system& sys, std::shared_ptr<const limiter_options> opts, std::size_t index,
                               std::shared_ptr<std::atomic<int>> outage, std::shared_ptr<lease_table> leases,
                               actor_registry& reg, metrics::registry* metrics);

} // namespace chorus::actors
