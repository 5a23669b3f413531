// The Redis GCRA script against a real Redis: exact limits, the shared budget of
// two clients, refunds, batches that mix policies and repeat a bucket, buckets
// carried across a generation of hashes, and reloading after SCRIPT FLUSH (NOSCRIPT).
#include "storage/redis/ratelimit.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <thread>

using namespace chorus;
namespace rd = chorus::storage::redis;
namespace rl = chorus::ratelimit;

namespace {

std::vector<rd::gcra_outcome> run(rd::context& c, const std::vector<rd::gcra_item>& items) {
  auto call = rd::gcra_batch(items);
  return rd::gcra_outcomes(call, items, c.call(call.cmd));
}

struct RateLimitRedis : ::testing::Test {
  rd::context a{"127.0.0.1", std::stoi(test::env("CHORUS_TEST_REDIS_PORT")), std::chrono::seconds(2)};
  rd::context b{"127.0.0.1", std::stoi(test::env("CHORUS_TEST_REDIS_PORT")), std::chrono::seconds(2)};
  std::string key = test::unique_name("ip:k");
  rl::policy p{test::unique_name("test"), 5, 3'600'000};  // 5 per hour: no refill during the test

  void SetUp() override {
    a.connect();
    b.connect();
    ASSERT_EQ(a.call(rd::script_load()).str, rd::gcra_sha());
  }
  rd::gcra_outcome outcome(rd::context& c, std::int64_t cost = 1, const rl::policy* pol = nullptr) {
    auto o = run(c, {{key, pol ? pol : &p, cost}});
    EXPECT_EQ(o.size(), 1u);
    EXPECT_EQ(o.at(0).status, rd::gcra_status::decided);
    return o.at(0);
  }
  rl::decision decide(rd::context& c, std::int64_t cost = 1) { return outcome(c, cost).d; }
};

} // namespace

TEST_F(RateLimitRedis, TwoClientsShareOneBudget) {
  rd::gcra_outcome last;
  for (int i = 0; i < 5; ++i) {
    last = outcome(i % 2 ? a : b);
    ASSERT_TRUE(last.d.allowed) << i;
    EXPECT_EQ(last.d.remaining, 4 - i);
  }
  auto d = decide(a);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(decide(b).allowed);
  EXPECT_NEAR(static_cast<double>(d.retry_after_us), 720e6, 1e6) << "one interval: an hour / 5";
  auto gen = last.now_us / p.period_us();
  auto hash = rd::ratelimit_hash(p.name) + ":" + std::to_string(gen);
  EXPECT_EQ(a.call({"HEXISTS", hash, key}).integer, 1) << hash;
  auto ttl = a.call({"PTTL", hash}).integer;
  EXPECT_GT(ttl, 2 * 3'600'000) << "kept while the next generation may still read it";
  EXPECT_LE(ttl, 3 * 3'600'000 + 1'000) << "and not longer";
}

TEST_F(RateLimitRedis, ARefundGivesOneBack) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(decide(a).allowed);
  ASSERT_FALSE(decide(a).allowed);
  auto r = decide(a, -1);
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.remaining, 1);
  EXPECT_TRUE(decide(b).allowed);
  EXPECT_FALSE(decide(b).allowed);
}

TEST_F(RateLimitRedis, ABatchMixesPoliciesAndRepeatsOfABucket) {
  rl::policy q{test::unique_name("other"), 2, 3'600'000};
  auto other = test::unique_name("ip:other");
  std::vector<rd::gcra_item> items{{key, &p, 1}, {other, &q, 1}, {key, &p, 1}, {other, &q, 1},
                                   {key, &p, 2}, {other, &q, 1}, {key, &p, -1}, {key, &p, 1}};
  auto o = run(a, items);
  ASSERT_EQ(o.size(), items.size());
  for (auto& x : o)
    ASSERT_EQ(x.status, rd::gcra_status::decided);
  // In the items' order, each seeing the ones before it.
  EXPECT_TRUE(o[0].d.allowed);
  EXPECT_EQ(o[0].d.remaining, 4);
  EXPECT_TRUE(o[1].d.allowed);
  EXPECT_EQ(o[1].d.remaining, 1);
  EXPECT_EQ(o[2].d.remaining, 3);
  EXPECT_TRUE(o[3].d.allowed);
  EXPECT_EQ(o[3].d.remaining, 0);
  EXPECT_TRUE(o[4].d.allowed) << "cost 2 of the 3 left";
  EXPECT_EQ(o[4].d.remaining, 1);
  EXPECT_FALSE(o[5].d.allowed) << "q's 2 are used up";
  EXPECT_EQ(o[6].d.remaining, 2) << "a refund of one";
  EXPECT_EQ(o[7].d.remaining, 1);
  // And stored: the next call sees the same.
  EXPECT_EQ(decide(b).remaining, 0);
  EXPECT_FALSE(decide(b).allowed);
}

// Buckets are fields of one hash per policy and generation (Redis's time / the
// period): a bucket written in one generation is read in the next, and the
// first write of the generation after that drops the old hash.
TEST_F(RateLimitRedis, ABucketIsCarriedIntoTheNextGeneration) {
  rl::policy fast{test::unique_name("fast"), 5, 400};  // 5 per 400 ms: a generation is 400 ms
  std::int64_t tat = 0, gen = 0;
  for (int i = 0; i < 5; ++i) {
    auto o = outcome(a, 1, &fast);
    if (!o.d.allowed)
      break;  // refilled meanwhile on a slow machine: the check below still holds
    tat = o.now_us + o.d.reset_us;
    gen = o.now_us / fast.period_us();
  }
  ASSERT_GT(tat, 0);
  // A request costing more than the limit is refused without writing: it reads
  // the bucket. Probe until Redis's clock is in the next generation.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  rd::gcra_outcome probe;
  do {
    probe = outcome(b, 6, &fast);
    ASSERT_FALSE(probe.d.allowed);
    if (probe.now_us / fast.period_us() == gen)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling Redis's clock, not a synchronisation
  } while (probe.now_us / fast.period_us() == gen && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(probe.now_us / fast.period_us(), gen + 1) << "the next generation, not later";
  EXPECT_EQ(probe.tat_before_us, tat) << "found in the previous generation's hash";
  auto old_hash = rd::ratelimit_hash(fast.name) + ":" + std::to_string(gen);
  EXPECT_EQ(a.call({"EXISTS", old_hash}).integer, 1);
  // Two generations on, the first write drops it (its own expiry is a period later).
  do {
    probe = outcome(b, 6, &fast);
    if (probe.now_us / fast.period_us() < gen + 2)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (probe.now_us / fast.period_us() < gen + 2 && std::chrono::steady_clock::now() < deadline);
  ASSERT_GE(probe.now_us / fast.period_us(), gen + 2);
  EXPECT_EQ(a.call({"EXISTS", old_hash}).integer, 1) << "reads do not drop it";
  EXPECT_TRUE(outcome(b, 1, &fast).d.allowed);
  EXPECT_EQ(a.call({"EXISTS", old_hash}).integer, 0) << "the generation's first write did";
}

// On a Redis of its own: SCRIPT FLUSH on the shared test Redis would pull the
// script from under the tests (and chorusd nodes) running beside this one.
TEST(RateLimitRedisFlush, NoscriptAfterAFlushThenLoadedAgain) {
  test::private_redis server;
  rd::context c{"127.0.0.1", server.port(), std::chrono::seconds(2)};
  c.connect();
  auto key = test::unique_name("ip:k");
  rl::policy p{"test", 5, 3'600'000};
  ASSERT_EQ(c.call(rd::script_load()).str, rd::gcra_sha());
  std::vector<rd::gcra_item> items{{key, &p, 1}};
  auto o = run(c, items);
  ASSERT_EQ(o.at(0).status, rd::gcra_status::decided);
  ASSERT_TRUE(o.at(0).d.allowed);
  c.call({"SCRIPT", "FLUSH"});
  auto call = rd::gcra_batch(items);
  auto r = c.call(call.cmd);
  EXPECT_TRUE(rd::is_noscript(r)) << r.str;
  EXPECT_EQ(rd::gcra_outcomes(call, items, r).at(0).status, rd::gcra_status::noscript);
  c.call(rd::script_load());
  o = run(c, items);
  ASSERT_EQ(o.at(0).status, rd::gcra_status::decided);
  EXPECT_TRUE(o.at(0).d.allowed);
  EXPECT_EQ(o.at(0).d.remaining, 3) << "the bucket survived: only the script was lost";
}
