#pragma once
// One pooled Postgres connection: the resource a pg_worker owns (the
// detached-worker pattern, actors/workers/worker.hpp). A job's exception is
// translated at this boundary (storage::pg::rethrow_translated); one that means
// the connection is gone closes it, and the worker reopens it after its backoff.
#include "actors/protocol/local.hpp"
#include "storage/pg/connection.hpp"

#include <memory>

namespace chorus::actors {

class pg_connection {
public:
  using job_type = db_call;
  static inline const char* actor_name = "chorus.pg_worker";

  pg_connection() = default;
  explicit pg_connection(storage::pg::connect_options opts) : opts_(std::move(opts)) {}

  bool is_open() const;
  void open();  // throws chorus::failure(errc::unavailable)
  void run(db_call& call);

private:
  storage::pg::connect_options opts_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace chorus::actors
