#pragma once
// Home-timeline feeds: the feed manager (one per node) and the per-user feed
// actors it activates and passivates. See docs/architecture.md, "Feeds".
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/fwd.hpp>
#include <atomic>
#include <chrono>
#include <memory>

namespace chorus::metrics { class registry; }

namespace chorus::actors {

struct feeds_options {
  std::size_t max_live = 100'000;                    // live feed actors; beyond → LRU passivation
  std::chrono::milliseconds idle{15 * 60 * 1000};    // passivate a feed unused this long
  std::size_t cache_size = 800;                      // entries per timeline (memory and Redis)
  std::int64_t fanout_max_followers = 10'000;        // above: read-time merge instead of pushes
  int active_days = 30;                              // only users active this recently get pushes
  std::size_t ring_size = 400;                       // recent statuses kept per large author
  int redis_ttl_s = 14 * 24 * 3600;                  // an unread timeline mirror expires
  std::chrono::milliseconds flags_ttl{30'000};       // viewer flags re-read after this (cross-node changes)
  std::chrono::milliseconds page_cache{2'000};       // a rendered page is reused this long if nothing changed
  bool remote_pages = true;                          // … also by other nodes, told by the owner when it changed
  std::chrono::milliseconds snapshot_ttl{60'000};    // … and its follows/blocks/mutes from Postgres
  int max_following = 10'000;                        // follows a feed keeps in memory
  int merge_on_follow = 200;                         // statuses merged into a timeline on follow
  std::size_t push_chunk = 500;                      // home keys per Redis script call
  std::chrono::milliseconds timeout{5'000};          // Postgres/Redis/cache request deadline
  std::chrono::milliseconds tick{1'000};             // idle sweep, activity flush and mirror-write retry period
  std::size_t mirror_backlog = 10'000;               // mirror writes kept in order while Redis is unreachable
  // The cluster (issue #13): hot-status invalidations are broadcast through it,
  // and requests to another node's feed manager time out after remote_timeout.
  cluster_actor cluster;
  std::chrono::milliseconds remote_timeout{2'000};
  // The streaming API (issue #14): fanned-out and revoked statuses and relation
  // changes go to this node's streams actor (none: no streaming).
  streams_node_actor streams;
  std::shared_ptr<std::atomic<std::int64_t>> live_count;  // live feed actors, for the cluster's pongs
};

feeds_actor spawn_feeds(caf::actor_system& sys, feeds_options opts, pg_pool_actor pool, redis_actor redis,
                        status_cache_actor cache, actor_registry& reg, metrics::registry* metrics);

} // namespace chorus::actors
