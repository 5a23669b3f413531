#pragma once
// Rate-limit bucket actors (issue #6). Buckets live in shard actors: bucket
// (policy, key) belongs to shard hash(key) % shards, and a shard holds many
// buckets (one actor per bucket would cost a spawn and a mailbox per client IP).
// Each shard batches the decisions that arrive while its last Redis request was
// being sent into one request of GCRA scripts (storage/redis/ratelimit.hpp),
// so the authoritative budget is Redis's and is shared by every node. If Redis
// fails, the shard decides from its own buckets (the same GCRA, this node only)
// for `retry_redis` before trying Redis again; the outage is logged once and
// every local decision is counted in chorus_ratelimit_fallback_total.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/gcra.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chorus::actors {

struct limiter_options {
  std::vector<ratelimit::policy> policies;     // a check names its policy by index
  std::size_t shards = 4;
  std::chrono::milliseconds timeout{500};      // a Redis answer slower than this: decide locally
  std::chrono::milliseconds retry_redis{1'000}; // after a failure, local decisions this long
  std::size_t local_buckets = 100'000;         // per shard, for the fallback
  std::function<std::int64_t()> now_us;        // the fallback's clock (default: the system clock)
};

// One decision (or, with cost < 0, a refund of -cost requests).
struct rl_check {
  std::uint32_t policy = 0;
  std::string key;                                          // "a:<account>", "ip:<address>", …
  std::int64_t cost = 1;
  std::function<void(const ratelimit::decision&)> reply;   // runs on the shard; may be empty
};

class limiter {
public:
  limiter(limiter_options opts, std::vector<caf::actor> shards);
  // Thread-safe: HTTP threads call it; the reply runs on the shard's thread.
  void check(rl_check c) const;
  const ratelimit::policy& policy(std::uint32_t id) const { return opts_.policies.at(id); }
  const std::vector<caf::actor>& shards() const { return shards_; }

private:
  limiter_options opts_;
  std::vector<caf::actor> shards_;
};

std::shared_ptr<limiter> spawn_limiter(caf::actor_system& sys, limiter_options opts, redis_actor redis,
                                       actor_registry& reg, metrics::registry* metrics);

} // namespace chorus::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::rl_check)
