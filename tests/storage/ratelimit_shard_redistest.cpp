// A rate-limit shard and its Redis connection (the worker pattern's core,
// actors/workers/worker_core.hpp) against a Redis of the test's own: decisions
// go to Redis while it is up, are made on the node from the first failure on
// without sending Redis a batch while it is down, and go back to Redis once
// the shard has reconnected on its own, after its backoff.
#include "actors/ratelimit/limiter.hpp"
#include "common/metrics.hpp"
#include "support/harness.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <future>
#include <gtest/gtest.h>

using namespace chorus;
using namespace chorus::actors;
using namespace std::chrono_literals;

namespace {

struct RateLimitShard : ::testing::Test {
  actor_registry reg{"test-node"};
  metrics::registry metrics;
  test::private_redis redis;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys = std::make_unique<caf::actor_system>(cfg);
  std::shared_ptr<limiter> lim;

  void SetUp() override {
    limiter_options lo;
    lo.policies = {{test::unique_name("shard"), 1'000'000, 3'600'000}};
    lo.shards = 1;
    lo.redis_port = redis.port();
    lo.timeout = 2s;
    lo.reconnect = {20ms, 200ms};
    lim = spawn_limiter(*sys, lo, reg, &metrics);
  }
  void TearDown() override {
    lim->stop();
    sys.reset();  // joins the shard's thread before the registry goes
  }
  bool decide() {
    auto reply = std::make_shared<std::promise<bool>>();
    auto answer = reply->get_future();
    lim->check({0, test::unique_name("ip:"), 1, [reply](const ratelimit::decision& d) { reply->set_value(d.allowed); },
                true});
    EXPECT_EQ(answer.wait_for(10s), std::future_status::ready) << "the shard did not answer within 10 s";
    return answer.get();
  }
  // A counter of the shard's registry entry.
  std::int64_t counter(const std::string& name) {
    for (auto& a : reg.snapshot())
      if (a.kind == "ratelimit")
        return a.counters[name];
    return -1;
  }
};

} // namespace

TEST_F(RateLimitShard, DecidesLocallyWhileRedisIsDownAndReturnsOnceReconnected) {
  ASSERT_TRUE(test::wait_until([&] { return decide() && counter("fallbacks") == 0 && counter("redis_calls") >= 1; }));
  redis.stop();
  EXPECT_TRUE(decide());  // the failed batch is decided here
  auto calls = counter("redis_calls");
  auto fallbacks = counter("fallbacks");
  EXPECT_GE(fallbacks, 1);
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(decide());
  EXPECT_EQ(counter("fallbacks"), fallbacks + 5) << "every decision is the node's own";
  EXPECT_EQ(counter("redis_calls"), calls) << "no batch goes to a Redis known to be down";
  redis.start();
  // The shard reconnects after its backoff (ceilings 20 ms … 200 ms) by itself.
  EXPECT_TRUE(test::wait_until([&] {
    auto before = counter("fallbacks");
    decide();
    return counter("fallbacks") == before;
  }));
  EXPECT_GT(counter("redis_calls"), calls);
}
