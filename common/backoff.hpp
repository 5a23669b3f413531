#pragma once
// Retry delays: exponential backoff with full jitter (AWS architecture blog,
// "Exponential Backoff And Jitter"): a uniform draw from [0, min(cap, base·2^(n-1))].
// The random source is passed in so tests are exact.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace chorus {

struct backoff_policy {
  std::chrono::milliseconds base{30'000};
  std::chrono::milliseconds cap{600'000};
};

// The ceiling of the delay after the `attempt`-th failure (1-based).
inline std::chrono::milliseconds backoff_ceiling(const backoff_policy& p, int attempt) {
  double exp = std::ldexp(static_cast<double>(p.base.count()), std::clamp(attempt, 1, 62) - 1);
  return std::chrono::milliseconds(static_cast<long long>(std::min(exp, static_cast<double>(p.cap.count()))));
}

// A delay drawn uniformly from [0, ceiling] with `rng`.
template <class Rng>
std::chrono::milliseconds backoff_delay(const backoff_policy& p, int attempt, Rng& rng) {
  auto ceiling = backoff_ceiling(p, attempt).count();
  std::uniform_int_distribution<long long> pick(0, ceiling);
  return std::chrono::milliseconds(pick(rng));
}

} // namespace chorus
