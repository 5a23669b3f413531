// The Redis GCRA script against a real Redis: exact limits, the shared budget of
// two clients, refunds, and reloading after SCRIPT FLUSH (NOSCRIPT).
#include "storage/redis/ratelimit.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>

using namespace chorus;
namespace rd = chorus::storage::redis;
namespace rl = chorus::ratelimit;

namespace {

struct RateLimitRedis : ::testing::Test {
  rd::context a{"127.0.0.1", std::stoi(test::env("CHORUS_TEST_REDIS_PORT")), std::chrono::seconds(2)};
  rd::context b{"127.0.0.1", std::stoi(test::env("CHORUS_TEST_REDIS_PORT")), std::chrono::seconds(2)};
  std::string key = rd::ratelimit_key("test", test::unique_name("k"));
  rl::policy p{"test", 5, 3'600'000};  // 5 per hour: no refill during the test

  void SetUp() override {
    a.connect();
    b.connect();
    ASSERT_EQ(a.call(rd::script_load()).str, rd::gcra_sha());
  }
  rl::decision decide(rd::context& c, std::int64_t cost = 1) {
    auto r = c.call(rd::gcra_evalsha(key, p, cost));
    auto d = rd::parse_gcra(r, p);
    EXPECT_TRUE(d.has_value()) << r.str;
    return d.value_or(rl::decision{});
  }
};

} // namespace

TEST_F(RateLimitRedis, TwoClientsShareOneBudget) {
  for (int i = 0; i < 5; ++i) {
    auto d = decide(i % 2 ? a : b);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
  }
  auto d = decide(a);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(decide(b).allowed);
  EXPECT_NEAR(static_cast<double>(d.retry_after_us), 720e6, 1e6) << "one interval: an hour / 5";
  EXPECT_GT(a.call({"PTTL", key}).integer, 0) << "the key expires when the bucket is full again";
}

TEST_F(RateLimitRedis, ARefundGivesOneBack) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(decide(a).allowed);
  ASSERT_FALSE(decide(a).allowed);
  auto r = decide(a, -1);
  EXPECT_TRUE(r.allowed);
  EXPECT_TRUE(decide(b).allowed);
  EXPECT_FALSE(decide(b).allowed);
}

// On a Redis of its own: SCRIPT FLUSH on the shared test Redis would pull the
// script from under the tests (and chorusd nodes) running beside this one.
TEST(RateLimitRedisFlush, NoscriptAfterAFlushThenLoadedAgain) {
  test::private_redis server;
  rd::context c{"127.0.0.1", server.port(), std::chrono::seconds(2)};
  c.connect();
  auto key = rd::ratelimit_key("test", test::unique_name("k"));
  rl::policy p{"test", 5, 3'600'000};
  ASSERT_EQ(c.call(rd::script_load()).str, rd::gcra_sha());
  auto decide = [&] { return rd::parse_gcra(c.call(rd::gcra_evalsha(key, p)), p); };
  ASSERT_TRUE(decide().value_or(rl::decision{false}).allowed);
  c.call({"SCRIPT", "FLUSH"});
  auto r = c.call(rd::gcra_evalsha(key, p));
  EXPECT_TRUE(rd::is_noscript(r)) << r.str;
  EXPECT_FALSE(rd::parse_gcra(r, p).has_value());
  c.call(rd::script_load());
  auto d = decide();
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->remaining, 3) << "the bucket survived: only the script was lost";
}
