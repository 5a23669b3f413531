// The lease table that HTTP threads spend hot buckets' leased tokens from
// (actors/ratelimit/limiter.hpp): exact counts, the renewal mark reached once,
// expiry, and retiring only the lease a shard means.
#include "actors/ratelimit/limiter.hpp"

#include <gtest/gtest.h>
#include <thread>

using namespace chorus::actors;

namespace {

std::shared_ptr<rl_lease> lease(std::int64_t tokens, std::int64_t renew_at, std::int64_t expires_us) {
  auto l = std::make_shared<rl_lease>();
  l->tokens = tokens;
  l->renew_at = renew_at;
  l->expires_us = expires_us;
  l->base_remaining = 100;
  l->full_at_us = expires_us + 1'000'000;
  return l;
}

} // namespace

TEST(LeaseTable, SpendsExactlyItsTokensAndAsksForTheNextLeaseOnceAtTheMark) {
  lease_table t;
  t.put("anon:ip:a", lease(8, 2, 1'000'000));
  int renewals = 0;
  for (int i = 0; i < 8; ++i) {
    bool renew = false;
    auto d = t.take("anon:ip:a", 300, 500'000, renew);
    ASSERT_TRUE(d.has_value()) << i;
    EXPECT_EQ(d->remaining, 100 + 7 - i);
    EXPECT_EQ(d->reset_us, 1'500'000);
    EXPECT_EQ(renew, i == 5) << "the token that leaves 2 of 8, and only that one: " << i;
    renewals += renew;
  }
  bool renew = false;
  EXPECT_FALSE(t.take("anon:ip:a", 300, 500'000, renew).has_value()) << "used up";
  EXPECT_FALSE(renew);
  EXPECT_EQ(renewals, 1);
}

TEST(LeaseTable, ConcurrentTakersNeverSpendMoreThanTheLease) {
  lease_table t;
  t.put("api:a:1", lease(10'000, 2'500, 1'000'000));
  std::atomic<int> taken{0}, renewals{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 5'000; ++j) {
        bool renew = false;
        if (t.take("api:a:1", 300, 0, renew))
          ++taken;
        renewals += renew;
      }
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(taken.load(), 10'000);
  EXPECT_EQ(renewals.load(), 1);
}

TEST(LeaseTable, AnExpiredLeaseIsNotSpentAndRetireTakesOnlyTheLeaseMeant) {
  lease_table t;
  auto old = lease(5, 1, 1'000);
  t.put("anon:ip:b", old);
  bool renew = false;
  EXPECT_FALSE(t.take("anon:ip:b", 300, 1'000, renew).has_value()) << "expired at 1000 µs";
  auto next = lease(7, 1, 5'000);
  t.put("anon:ip:b", next);  // its successor
  EXPECT_EQ(t.retire("anon:ip:b", old.get()), 0) << "the old lease's end leaves its successor alone";
  EXPECT_TRUE(t.take("anon:ip:b", 300, 2'000, renew).has_value());
  EXPECT_EQ(t.retire("anon:ip:b", next.get()), 6) << "the unused rest";
  EXPECT_FALSE(t.take("anon:ip:b", 300, 2'000, renew).has_value());
  EXPECT_EQ(t.size(), 0u);
}
