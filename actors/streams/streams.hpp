#pragma once
// The streaming actor (one per node, role streams_node_actor; publishers see it as streams_actor): the sequenced
// outboxes of the users this node owns (placed by the cluster like feeds,
// backed by one bounded Redis stream per user), routing of user events to
// their owner, shared public/hashtag events to every node, and delivery to
// this node's streaming connections through the hub the HTTP layer installs.
// For the users with live outboxes here it also keeps the large authors they
// follow, whose statuses fan-out does not push (large_status_event).
// docs/architecture.md, "Streams".
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::metrics { class registry; }

namespace chorus::actors {

struct streams_options {
  int outbox_size = 1'000;                          // events kept per user in Redis (MAXLEN ~)
  std::chrono::milliseconds resume_window{300'000}; // an outbox stays live this long after its last watcher left
  std::int64_t key_ttl_s = 7 * 24 * 3600;           // a user's Redis stream expires this long after its last activation
  std::chrono::milliseconds timeout{5'000};         // Redis, Postgres and hot-cache requests
  std::chrono::milliseconds remote_timeout{2'000};  // requests to another node's streams actor
  std::chrono::milliseconds tick{1'000};            // outbox expiry sweep
  std::int64_t fanout_max_followers = 10'000;       // feed.fanout_max_followers: whose statuses reach followers here
  int max_following = 10'000;                       // follows kept per streaming user (as a home feed keeps)
};

streams_node_actor spawn_streams(caf::actor_system& sys, streams_options opts, pg_pool_actor pool, redis_actor redis,
                            status_cache_actor cache, actor_registry& reg, metrics::registry* metrics);

} // namespace chorus::actors
