#pragma once
// The Redis actor: a manager that coalesces concurrent requests into pipelines
// (up to max_pipeline commands, one pipeline in flight) for a detached worker
// (actors/workers/worker.hpp) that owns the hiredis connection
// (redis_connection.hpp). Bounded: beyond queue_limit commands → overloaded.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/backoff.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

struct redis_options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::chrono::milliseconds timeout{2000};
  int queue_limit = 8192;
  int max_pipeline = 512;
  backoff_policy reconnect{std::chrono::milliseconds(100), std::chrono::milliseconds(5000)};  // cap: redis.reconnect_max_ms
};

redis_actor spawn_redis(caf::actor_system& sys, redis_options opts, actor_registry& reg,
                        metrics::registry* metrics);

} // namespace chorus::actors
