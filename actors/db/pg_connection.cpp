#include "actors/db/pg_connection.hpp"

#include <pqxx/connection>

namespace chorus::actors {

bool pg_connection::is_open() const { return conn_ && conn_->is_open(); }

void pg_connection::open() {
  conn_.reset();
  conn_ = storage::pg::connect(opts_);
}

void pg_connection::run(db_call& call) {
  if (!is_open())
    open();
  try {
    call.run(*conn_);
  } catch (...) {
    auto ep = std::current_exception();
    if (storage::pg::is_connection_loss(ep) || !is_open())
      conn_.reset();
    storage::pg::rethrow_translated(ep);
  }
}

} // namespace chorus::actors
