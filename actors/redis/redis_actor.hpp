#pragma once
// The Redis actor: a manager that coalesces concurrent requests into pipelines
// (up to max_pipeline commands, one pipeline in flight) for a detached worker that
// owns the hiredis connection. Bounded: beyond queue_limit commands → overloaded.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

struct redis_options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::chrono::milliseconds timeout{2000};
  int queue_limit = 8192;
  int max_pipeline = 512;
  std::chrono::milliseconds reconnect_max{5000};
};

redis_actor spawn_redis(caf::actor_system& sys, redis_options opts, actor_registry& reg,
                        metrics::registry* metrics);

} // namespace chorus::actors
