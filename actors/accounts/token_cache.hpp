#pragma once
// The OAuth actor's bearer-token cache, published for reads from HTTP threads so
// that an authenticated request needs no actor round trip for a known token.
// Written by the oauth actor (remember on lookup, forget on revocation) and the
// cluster actor (forget when another node revoked a token), so a revocation
// anywhere in the cluster holds on this node from the moment its broadcast
// arrives. A forgotten token is kept out for the tombstone time: a lookup that
// was in flight when the revocation arrived (it read the token before the
// revocation committed) cannot bring it back.
#include "actors/protocol/messages.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace chorus::actors {

class token_cache {
public:
  using clock = std::chrono::steady_clock;

  explicit token_cache(std::size_t max_entries = 100'000,
                       std::chrono::milliseconds tombstone = std::chrono::seconds(60))
    : max_(max_entries), tombstone_(tombstone) {}

  // The context for a token digest, if cached and not expired.
  std::optional<auth_context> find(const std::string& digest, clock::time_point now = clock::now()) const {
    std::shared_lock lock(mtx_);
    auto it = map_.find(digest);
    if (it == map_.end() || it->second.expires <= now) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    return it->second.ctx;
  }

  void remember(const std::string& digest, const auth_context& ctx, clock::time_point expires) {
    std::unique_lock lock(mtx_);
    if (auto it = dead_.find(digest); it != dead_.end()) {
      if (it->second > clock::now())
        return;  // revoked while this lookup was in flight
      dead_.erase(it);
    }
    if (map_.size() >= max_) {
      auto now = clock::now();
      for (auto it = map_.begin(); it != map_.end();)
        it = it->second.expires <= now ? map_.erase(it) : std::next(it);
      if (map_.size() >= max_)
        map_.clear();
    }
    map_[digest] = {ctx, expires};
  }

  void forget(const std::string& digest) {
    std::unique_lock lock(mtx_);
    map_.erase(digest);
    auto now = clock::now();
    if (dead_.size() >= max_)
      for (auto it = dead_.begin(); it != dead_.end();)
        it = it->second <= now ? dead_.erase(it) : std::next(it);
    if (dead_.size() < max_)
      dead_[digest] = now + tombstone_;
  }

  std::size_t size() const {
    std::shared_lock lock(mtx_);
    return map_.size();
  }
  std::uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const noexcept { return misses_.load(std::memory_order_relaxed); }

private:
  struct entry {
    auth_context ctx;
    clock::time_point expires;
  };
  std::size_t max_;
  std::chrono::milliseconds tombstone_;
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, entry> map_;
  std::unordered_map<std::string, clock::time_point> dead_;  // forgotten digests, kept out until then
  mutable std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

} // namespace chorus::actors
