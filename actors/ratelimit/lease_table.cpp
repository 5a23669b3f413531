// The lease table: leased tokens that HTTP threads take without an actor hop
// (see limiter.hpp, "Leases").
#include "actors/ratelimit/limiter.hpp"

#include <algorithm>
#include <mutex>

namespace chorus::actors {

std::optional<ratelimit::decision> lease_table::take(const std::string& bucket, std::int64_t limit,
                                                     std::int64_t now_us, lease_renewal& renew) const {
  std::shared_lock<std::shared_mutex> g(mtx_);
  auto it = leases_.find(bucket);
  if (it == leases_.end() || it->second->expires_us <= now_us)
    return std::nullopt;
  auto& l = *it->second;
  // Never below zero: a token is taken only while one is there (retire's
  // exchange(0) must see every token that was not taken).
  auto t = l.tokens.load(std::memory_order_relaxed);
  do {
    if (t <= 0)
      return std::nullopt;
  } while (!l.tokens.compare_exchange_weak(t, t - 1, std::memory_order_relaxed));
  auto left = t - 1;
  bool low = left <= l.renew_at;
  if ((low || now_us >= l.renew_after_us) && !l.renewing.exchange(true, std::memory_order_relaxed))
    renew = low ? lease_renewal::tokens : lease_renewal::time;
  ratelimit::decision d;
  d.limit = limit;
  d.remaining = l.base_remaining + left;
  d.reset_us = std::max<std::int64_t>(0, l.full_at_us - now_us);
  return d;
}

std::int64_t lease_table::left(const std::string& bucket) const {
  std::shared_lock<std::shared_mutex> g(mtx_);
  auto it = leases_.find(bucket);
  return it == leases_.end() ? 0 : std::max<std::int64_t>(0, it->second->tokens.load());
}

void lease_table::put(const std::string& bucket, std::shared_ptr<rl_lease> l) {
  std::unique_lock<std::shared_mutex> g(mtx_);
  leases_[bucket] = std::move(l);
}

std::int64_t lease_table::retire(const std::string& bucket, const rl_lease* which) {
  std::unique_lock<std::shared_mutex> g(mtx_);
  auto it = leases_.find(bucket);
  if (it == leases_.end() || (which && it->second.get() != which))
    return 0;
  auto unused = std::max<std::int64_t>(0, it->second->tokens.exchange(0));
  leases_.erase(it);
  return unused;
}

std::size_t lease_table::size() const {
  std::shared_lock<std::shared_mutex> g(mtx_);
  return leases_.size();
}

} // namespace chorus::actors
