#pragma once
// Rate-limit bucket actors (issue #6). Buckets live in shard actors (detached,
// each with its own Redis connection): bucket
// (policy, key) belongs to shard hash(key) % shards, and a shard holds many
// buckets: measured against one actor per bucket (bench_ratelimit_bucket_actors),
// shards decide ~1.3-1.4x as many checks from HTTP threads per second, with a
// lower p99, in a tenth of the memory (docs/architecture.md, "Why shards").
// Each shard batches the decisions that arrive while its last Redis pipeline was
// in flight into one pipeline of GCRA scripts (storage/redis/ratelimit.hpp),
// so the authoritative budget is Redis's and is shared by every node. If Redis
// fails, the shard decides from its own buckets (the same GCRA, this node only)
// until it has reconnected (attempts after backoff with full jitter,
// `reconnect`); the outage is logged once and every local decision is counted
// in chorus_ratelimit_fallback_total.
//
// Leases: a bucket asked for again within `lease` takes a lease of tokens
// (sized to its rate, at most `lease_tokens` and a tenth of its limit) from
// Redis in one decision and publishes them in a table that HTTP threads
// read (limiter::take): until they are used up or the lease ends, requests of
// that bucket are decided on the HTTP thread with one atomic decrement — no
// actor hop, no Redis round trip. When a quarter of a lease (tokens or time)
// is left, the thread that takes the token at that mark asks its shard for
// the next lease: when the tokens ran low, twice as big (up to the caps),
// asking Redis only for what the old lease's few remaining tokens do not
// cover and taking those over; when its time ran out, the same size, the old
// one's rest going back to Redis. A steadily hot bucket never waits for Redis.
// Leased tokens are taken from the shared budget before they are handed out,
// so the cluster never admits more than a limit; unused ones are given back
// when their lease ends (carried-over ones at most one lease later). The cost
// is the other way: while a node holds unused leased tokens, other nodes may be
// refused early by at most `lease_tokens` per bucket and node, for at most
// about twice `lease`.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/backoff.hpp"
#include "common/gcra.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <functional>
#include <atomic>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace chorus::actors {

struct limiter_options {
  std::vector<ratelimit::policy> policies;     // a check names its policy by index
  std::size_t shards = 2;
  std::string redis_host = "127.0.0.1";        // each shard has its own connection
  int redis_port = 6379;
  std::chrono::milliseconds timeout{500};      // a Redis answer slower than this: decide locally
  backoff_policy reconnect{std::chrono::milliseconds(1'000), std::chrono::milliseconds(5'000)};
                                               // after a failure, local decisions until a reconnect
                                               // succeeds (cap: redis.reconnect_max_ms)
  std::size_t local_buckets = 100'000;         // per shard, for the fallback
  std::function<std::int64_t()> now_us;        // the fallback's clock (default: the system clock)
  bool shared = true;                          // false: every decision is this node's (no Redis)
  std::int64_t lease_tokens = 0;               // most tokens per lease (also at most a tenth of the limit); 0: none
  std::chrono::milliseconds lease{250};        // how long a lease lives
};

enum class lease_renewal : std::uint8_t { none, time, tokens };

// A bucket's leased tokens, shared with HTTP threads.
struct rl_lease {
  std::atomic<std::int64_t> tokens{0};
  std::int64_t renew_at = 0;              // tokens left when the next lease is asked for,
  std::int64_t renew_after_us = 0;        // or the time (wall clock) when it is, whichever comes first
  std::atomic<bool> renewing{false};      // asked for
  std::int64_t expires_us = 0;       // wall clock
  std::int64_t base_remaining = 0;   // Redis's remaining once the lease was taken
  std::int64_t full_at_us = 0;       // wall clock when the bucket was full again, as of the lease
};

class lease_table {
public:
  // One token of a live lease, as a decision; nullopt when there is none left.
  // For the one caller whose token reached the lease's renewal mark, `renew` is
  // set: lease_renewal::tokens when the tokens ran low, ::time when its time did.
  std::optional<ratelimit::decision> take(const std::string& bucket, std::int64_t limit, std::int64_t now_us,
                                          lease_renewal& renew) const;
  void put(const std::string& bucket, std::shared_ptr<rl_lease> l);
  // Tokens left in the bucket's lease (0: none).
  std::int64_t left(const std::string& bucket) const;
  // Removes the lease (only `which`, if given) and returns the tokens nobody took.
  std::int64_t retire(const std::string& bucket, const rl_lease* which = nullptr);
  std::size_t size() const;

private:
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, std::shared_ptr<rl_lease>> leases_;
};


class limiter : public std::enable_shared_from_this<limiter> {
public:
  limiter(limiter_options opts, std::vector<limiter_shard_actor> shards, std::shared_ptr<lease_table> leases);
  // Thread-safe: HTTP threads call it; the reply runs on the shard's thread.
  void check(rl_check c) const;
  // A decision from a live lease, on the caller's thread; nullopt: use check().
  std::optional<ratelimit::decision> take(std::uint32_t policy, const std::string& key) const;
  std::shared_ptr<lease_table> leases() const { return leases_; }
  const ratelimit::policy& policy(std::uint32_t id) const { return opts_.policies.at(id); }
  std::vector<limiter_shard_actor> shards() const;
  // Ends the shards and drops this handle's references to them: a detached
  // actor's thread ends only with its last reference, and HTTP routes keep
  // this handle until the server is gone. Later checks are dropped (their
  // responders answer 500).
  void stop();

private:
  limiter_options opts_;
  std::shared_ptr<const std::vector<limiter_shard_actor>> shards_;  // atomic_load/atomic_store
  std::shared_ptr<lease_table> leases_;
};

// The lease table's key of a bucket.
inline std::string bucket_id(const ratelimit::policy& p, const std::string& key) { return p.name + ":" + key; }

std::shared_ptr<limiter> spawn_limiter(caf::actor_system& sys, limiter_options opts, actor_registry& reg,
                                       metrics::registry* metrics);

} // namespace chorus::actors

