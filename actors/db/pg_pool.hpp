#pragma once
// The Postgres pool: a manager actor with a bounded FIFO of db_calls in front of
// N detached workers (actors/workers/worker.hpp), each owning one libpqxx
// connection (pg_connection.hpp). Overflow is refused with errc::overloaded; a
// lost connection fails the job with errc::unavailable and the worker reconnects
// after exponential backoff with full jitter.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/backoff.hpp"
#include "storage/pg/connection.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

struct pg_pool_options {
  storage::pg::connect_options connection;
  int size = 4;
  int queue_limit = 1024;
  std::chrono::milliseconds queue_timeout{2000};   // waited this long → fail unrun
  std::chrono::milliseconds job_timeout{6000};     // running this long → reply timeout
  backoff_policy reconnect{std::chrono::milliseconds(100), std::chrono::milliseconds(5000)};  // cap: pg.reconnect_max_ms
  std::string name = "main";
};

pg_pool_actor spawn_pg_pool(caf::actor_system& sys, pg_pool_options opts, actor_registry& reg,
                            metrics::registry* metrics);

} // namespace chorus::actors
