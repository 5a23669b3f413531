#include "actors/redis/redis_connection.hpp"

#include "common/errc.hpp"

namespace chorus::actors {
namespace {

// hiredis reports its socket timeout as EAGAIN ("Resource temporarily unavailable").
bool timed_out(const std::exception& e) {
  std::string why = e.what();
  return why.find("temporarily unavailable") != std::string::npos || why.find("timed out") != std::string::npos;
}

} // namespace

void redis_connection::run(redis_call& call) {
  bool was_open = is_open();
  if (!was_open)
    open();
  try {
    call.run(*ctx_);
  } catch (const failure& e) {
    // A connection that was open may have gone stale (Redis restarted while it
    // sat idle); after a timeout Redis may have run the job already.
    if (!call.retry_stale || !was_open || timed_out(e))
      throw;
    ctx_->connect();
    call.run(*ctx_);
  }
}

} // namespace chorus::actors
