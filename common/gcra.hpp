#pragma once
// Rate limits (issue #6), the arithmetic: GCRA, the generic cell rate algorithm,
// a token bucket kept as one number per bucket, its theoretical arrival time
// (TAT). A policy allows `limit` requests per `period`, all at once if the bucket
// is full; each request moves the TAT one emission interval (period / limit)
// into the future, and a request is refused when that would put the TAT more
// than one period ahead of now. The same arithmetic runs in Redis
// (storage/redis/ratelimit.cpp, the cluster-wide budget) and here (the local
// fallback, and unit tests with an injected clock). No CAF, no I/O.
#include <cstdint>
#include <string>

namespace chorus::ratelimit {

struct policy {
  std::string name;                // in headers (RateLimit-Policy) and metrics
  std::int64_t limit = 300;        // requests per period
  std::int64_t period_ms = 300'000;

  std::int64_t period_us() const noexcept { return period_ms * 1000; }
  // Microseconds one request moves the TAT (at least 1).
  std::int64_t interval_us() const noexcept;
};

struct decision {
  bool allowed = true;
  std::int64_t limit = 0;
  std::int64_t remaining = 0;       // requests that would still be allowed now
  std::int64_t reset_us = 0;        // until the bucket is full again
  std::int64_t retry_after_us = 0;  // refused: until this request would be allowed
};

// Decides one request of `cost` (>= 1) at `now_us` for a bucket whose TAT is
// `tat_us` (0: never used, full); an allowed request updates `tat_us`.
decision gcra(std::int64_t& tat_us, std::int64_t now_us, const policy& p, std::int64_t cost = 1);

// Gives back `cost` requests (a request answered 5xx): the TAT moves back, never below now.
void gcra_refund(std::int64_t& tat_us, std::int64_t now_us, const policy& p, std::int64_t cost = 1);

// A bucket as it stands (after a refund, say): allowed, with what remains now.
decision state_of(std::int64_t tat_us, std::int64_t now_us, const policy& p);

} // namespace chorus::ratelimit
