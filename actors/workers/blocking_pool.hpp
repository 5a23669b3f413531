#pragma once
// A bounded pool of detached worker actors for CPU-heavy or blocking work that
// needs no connection (password hashing, image encoding). Same contract as the
// Postgres pool: FIFO, bounded queue (overflow → errc::overloaded), each job's
// exception becomes the reply error.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

struct blocking_pool_options {
  std::string name = "cpu";
  int size = 2;
  int queue_limit = 256;
  // A job that waited longer is failed with errc::timeout instead of run: its
  // caller (whose own deadline is about this long) has given up on it.
  std::chrono::milliseconds queue_timeout{5'000};
};

blocking_pool_actor spawn_blocking_pool(caf::actor_system& sys, blocking_pool_options opts, actor_registry& reg);

} // namespace chorus::actors
