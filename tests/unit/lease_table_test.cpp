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
  l->renew_after_us = expires_us * 3 / 4;
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
    auto renew = lease_renewal::none;
    auto d = t.take("anon:ip:a", 300, 500'000, renew);
    ASSERT_TRUE(d.has_value()) << i;
    EXPECT_EQ(d->remaining, 100 + 7 - i);
    EXPECT_EQ(d->reset_us, 1'500'000);
    EXPECT_EQ(renew == lease_renewal::tokens, i == 5) << "the token that leaves 2 of 8, and only that one: " << i;
    renewals += renew != lease_renewal::none;
  }
  auto renew = lease_renewal::none;
  EXPECT_FALSE(t.take("anon:ip:a", 300, 500'000, renew).has_value()) << "used up";
  EXPECT_EQ(renew, lease_renewal::none);
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
        auto renew = lease_renewal::none;
        if (t.take("api:a:1", 300, 0, renew))
          ++taken;
        renewals += renew != lease_renewal::none;
      }
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(taken.load(), 10'000);
  EXPECT_EQ(renewals.load(), 1);
}

TEST(LeaseTable, TokensTakenPlusTokensRetiredAreExactlyTheLeaseUnderRaces) {
  for (int round = 0; round < 50; ++round) {
    lease_table t;
    t.put("api:a:2", lease(1'000, 0, 1'000'000));
    std::atomic<int> taken{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i)
      threads.emplace_back([&] {
        while (!go.load()) {
        }
        for (int j = 0; j < 2'000; ++j) {
          auto renew = lease_renewal::none;
          if (t.take("api:a:2", 300, 0, renew))
            ++taken;
        }
      });
    go = true;
    std::this_thread::yield();
    auto back = t.retire("api:a:2");  // while the takers run
    for (auto& th : threads)
      th.join();
    EXPECT_EQ(taken.load() + back, 1'000) << "round " << round << ": no token lost or made up";
  }
}

TEST(LeaseTable, ALeaseInItsLastQuarterOfTimeAsksForTheNextOnce) {
  lease_table t;
  t.put("anon:ip:c", lease(100, 10, 1'000'000));  // renew after 750,000 µs
  auto renew = lease_renewal::none;
  ASSERT_TRUE(t.take("anon:ip:c", 300, 749'999, renew).has_value());
  EXPECT_EQ(renew, lease_renewal::none);
  ASSERT_TRUE(t.take("anon:ip:c", 300, 750'000, renew).has_value());
  EXPECT_EQ(renew, lease_renewal::time) << "plenty of tokens, little time: the same size again";
  renew = lease_renewal::none;
  ASSERT_TRUE(t.take("anon:ip:c", 300, 800'000, renew).has_value());
  EXPECT_EQ(renew, lease_renewal::none) << "asked for once";
}

TEST(LeaseTable, AnExpiredLeaseIsNotSpentAndRetireTakesOnlyTheLeaseMeant) {
  lease_table t;
  auto old = lease(5, 1, 1'000);
  t.put("anon:ip:b", old);
  auto renew = lease_renewal::none;
  EXPECT_FALSE(t.take("anon:ip:b", 300, 1'000, renew).has_value()) << "expired at 1000 µs";
  auto next = lease(7, 1, 5'000);
  t.put("anon:ip:b", next);  // its successor
  EXPECT_EQ(t.retire("anon:ip:b", old.get()), 0) << "the old lease's end leaves its successor alone";
  EXPECT_TRUE(t.take("anon:ip:b", 300, 2'000, renew).has_value());
  EXPECT_EQ(t.retire("anon:ip:b", next.get()), 6) << "the unused rest";
  EXPECT_FALSE(t.take("anon:ip:b", 300, 2'000, renew).has_value());
  EXPECT_EQ(t.size(), 0u);
}
