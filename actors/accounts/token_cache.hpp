#pragma once
// The OAuth actor's bearer-token cache, published for reads from HTTP threads so
// that an authenticated request needs no actor round trip for a known token.
// The oauth actor is its only writer (remember on lookup, forget on revocation),
// so a revocation on this node holds from the next request on; other nodes see
// it within the TTL (oauth.cache_ttl_ms), as before.
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

  explicit token_cache(std::size_t max_entries = 100'000) : max_(max_entries) {}

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
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, entry> map_;
  mutable std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

} // namespace chorus::actors
