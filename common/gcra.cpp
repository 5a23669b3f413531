#include "common/gcra.hpp"

#include <algorithm>

namespace chorus::ratelimit {

std::int64_t policy::interval_us() const noexcept {
  return std::max<std::int64_t>(1, period_us() / std::max<std::int64_t>(1, limit));
}

decision gcra(std::int64_t& tat_us, std::int64_t now_us, const policy& p, std::int64_t cost) {
  const auto period = p.period_us();
  const auto interval = p.interval_us();
  decision d;
  d.limit = p.limit;
  auto base = std::max(tat_us, now_us);
  auto next = base + interval * std::max<std::int64_t>(1, cost);
  if (next - now_us > period) {
    d.allowed = false;
    d.remaining = std::clamp<std::int64_t>((period - (base - now_us)) / interval, 0, p.limit);
    d.reset_us = base - now_us;
    d.retry_after_us = next - now_us - period;
    return d;
  }
  tat_us = next;
  d.remaining = std::min(p.limit, (period - (next - now_us)) / interval);  // the interval is rounded down
  d.reset_us = next - now_us;
  return d;
}

void gcra_refund(std::int64_t& tat_us, std::int64_t now_us, const policy& p, std::int64_t cost) {
  tat_us = std::max(now_us, tat_us - p.interval_us() * std::max<std::int64_t>(1, cost));
}

decision state_of(std::int64_t tat_us, std::int64_t now_us, const policy& p) {
  decision d;
  d.limit = p.limit;
  d.reset_us = std::max<std::int64_t>(0, tat_us - now_us);
  d.remaining = std::clamp<std::int64_t>((p.period_us() - d.reset_us) / p.interval_us(), 0, p.limit);
  return d;
}

} // namespace chorus::ratelimit
