#pragma once
// One Redis connection: the resource a Redis worker owns (the detached-worker
// pattern, actors/workers/worker.hpp), for the Redis actor and for each
// rate-limit shard. An I/O error drops the connection (storage::redis::context
// does), and the worker reopens it after its backoff.
#include "actors/protocol/worker.hpp"
#include "storage/redis/context.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace chorus::actors {

class redis_connection {
public:
  using job_type = redis_call;
  static inline const char* actor_name = "chorus.redis_worker";

  redis_connection() = default;
  redis_connection(std::string host, int port, std::chrono::milliseconds timeout)
    : ctx_(std::make_unique<storage::redis::context>(std::move(host), port, timeout)) {}

  bool is_open() const { return ctx_ && ctx_->connected(); }
  void open() { ctx_->connect(); }  // throws chorus::failure(errc::unavailable)
  void run(redis_call& call);

private:
  std::unique_ptr<storage::redis::context> ctx_;
};

} // namespace chorus::actors
