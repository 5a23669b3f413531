// Exponential backoff with full jitter: ceilings double from the base up to the
// cap, and every delay lies in [0, ceiling].
#include "common/backoff.hpp"

#include <gtest/gtest.h>

using namespace chorus;
using std::chrono::milliseconds;

TEST(Backoff, CeilingDoublesFromBaseUpToCap) {
  backoff_policy p;  // 30 s .. 10 min
  EXPECT_EQ(backoff_ceiling(p, 1), milliseconds(30'000));
  EXPECT_EQ(backoff_ceiling(p, 2), milliseconds(60'000));
  EXPECT_EQ(backoff_ceiling(p, 5), milliseconds(480'000));
  EXPECT_EQ(backoff_ceiling(p, 6), milliseconds(600'000));
  EXPECT_EQ(backoff_ceiling(p, 1000), milliseconds(600'000)) << "no overflow for large attempts";
  EXPECT_EQ(backoff_ceiling(p, 0), milliseconds(30'000));
}

TEST(Backoff, FullJitterStaysWithinTheCeilingAndSpreads) {
  backoff_policy p{milliseconds(100), milliseconds(1000)};
  std::mt19937_64 rng(42);
  long long lo = 1'000'000, hi = -1;
  for (int i = 0; i < 2000; ++i) {
    long long d = backoff_delay(p, 3, rng).count();  // ceiling 400 ms
    ASSERT_GE(d, 0);
    ASSERT_LE(d, 400);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 40) << "full jitter reaches near zero";
  EXPECT_GT(hi, 360) << "… and near the ceiling";
}
