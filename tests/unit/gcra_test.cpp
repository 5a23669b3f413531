// GCRA with an injected clock: exact limits, refill, retry-after, refunds.
#include "common/gcra.hpp"

#include <gtest/gtest.h>

using namespace chorus::ratelimit;

namespace {
constexpr std::int64_t s = 1'000'000;  // µs
const std::int64_t t0 = 1'764'570'000LL * s;
}

TEST(Gcra, AFullBucketAllowsExactlyTheLimitThenRefuses) {
  policy p{"api", 300, 300'000};  // Mastodon: 300 per 5 minutes
  std::int64_t tat = 0;
  for (int i = 0; i < 300; ++i) {
    auto d = gcra(tat, t0, p);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 299 - i);
    EXPECT_EQ(d.limit, 300);
  }
  auto d = gcra(tat, t0, p);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.retry_after_us, 1 * s) << "one emission interval: 5 min / 300";
  EXPECT_EQ(d.reset_us, 300 * s) << "full again after the whole period";
}

TEST(Gcra, TheBudgetRefillsOneIntervalAtATime) {
  policy p{"signup", 5, 30 * 60'000};  // 5 per 30 minutes: one every 6 minutes
  std::int64_t tat = 0;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(gcra(tat, t0, p).allowed);
  EXPECT_FALSE(gcra(tat, t0 + 6 * 60 * s - 1, p).allowed) << "one µs early";
  auto d = gcra(tat, t0 + 6 * 60 * s, p);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_FALSE(gcra(tat, t0 + 6 * 60 * s, p).allowed);
  // After a whole idle period the bucket is full, never fuller.
  auto later = t0 + 10 * 3600 * s;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(gcra(tat, later, p).allowed);
  EXPECT_FALSE(gcra(tat, later, p).allowed);
}

TEST(Gcra, RefusedRequestsCostNothingAndRefundsGiveBack) {
  policy p{"statuses", 3, 3'000};
  std::int64_t tat = 0;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(gcra(tat, t0, p).allowed);
  auto before = tat;
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(gcra(tat, t0, p).allowed);
  EXPECT_EQ(tat, before) << "refusals do not push the bucket further";
  gcra_refund(tat, t0, p);  // the last request was answered 5xx
  EXPECT_TRUE(gcra(tat, t0, p).allowed);
  EXPECT_FALSE(gcra(tat, t0, p).allowed);
  std::int64_t fresh = 0;
  gcra_refund(fresh, t0, p);
  EXPECT_EQ(fresh, t0) << "a refund never makes a bucket fuller than full";
  EXPECT_EQ(gcra(fresh, t0, p).remaining, 2);
}

TEST(Gcra, CostsAboveOneTakeSeveralRequests) {
  policy p{"media", 30, 30 * 60'000};
  std::int64_t tat = 0;
  EXPECT_EQ(gcra(tat, t0, p, 10).remaining, 20);
  EXPECT_EQ(gcra(tat, t0, p, 20).remaining, 0);
  EXPECT_FALSE(gcra(tat, t0, p, 1).allowed);
}
