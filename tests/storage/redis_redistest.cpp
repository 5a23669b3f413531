#include "actors/redis/redis_actor.hpp"
#include "common/errc.hpp"
#include "storage/redis/context.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <set>

using namespace chorus;
using namespace chorus::actors;
using storage::redis::reply;

namespace {
int shared_port() { return std::stoi(test::env("CHORUS_TEST_REDIS_PORT")); }
std::string prefix() { return test::unique_name("t") + ":"; }
} // namespace

TEST(RedisContext, PipelineKeepsOrderAndErrorsAreReplies) {
  storage::redis::context ctx("127.0.0.1", shared_port(), std::chrono::milliseconds(2000));
  auto p = prefix();
  auto replies = ctx.pipeline({{"SET", p + "a", "1"},
                               {"INCRBY", p + "a", "41"},
                               {"SET", p + "s", "text"},
                               {"INCR", p + "s"},
                               {"GET", p + "a"},
                               {"GET", p + "missing"},
                               {"DEL", p + "a", p + "s"}});
  ASSERT_EQ(replies.size(), 7u);
  EXPECT_EQ(replies[0].type, reply::kind::status);
  EXPECT_EQ(replies[1].integer, 42);
  EXPECT_TRUE(replies[3].is_error());
  EXPECT_EQ(replies[4].str, "42");
  EXPECT_EQ(replies[5].type, reply::kind::nil);
  EXPECT_EQ(replies[6].integer, 2);
}

TEST(RedisContext, UnreachableServerIsUnavailable) {
  storage::redis::context ctx("127.0.0.1", test::free_port(), std::chrono::milliseconds(500));
  try {
    ctx.call({"PING"});
    FAIL() << "no error";
  } catch (const failure& f) {
    EXPECT_EQ(f.code(), errc::unavailable);
  }
}

namespace {
struct RedisActor : ::testing::Test {
  test::actor_env env;
  redis_actor redis;
  void start(int port, int queue_limit = 8192) {
    redis_options o;
    o.host = "127.0.0.1";
    o.port = port;
    o.queue_limit = queue_limit;
    o.reconnect.cap = std::chrono::milliseconds(200);
    redis = spawn_redis(env.sys, o, env.reg, &env.metrics);
  }
  void TearDown() override {
    caf::anon_send_exit(redis, caf::exit_reason::user_shutdown);
    env.sys.await_all_actors_done();
  }
  caf::error run(redis_request req, redis_result* out = nullptr) {
    return env.call(redis, [&](redis_result& r) { if (out) *out = std::move(r); }, std::move(req));
  }
};
} // namespace

TEST_F(RedisActor, ConcurrentRequestsAreCoalescedIntoPipelines) {
  start(shared_port());
  auto p = prefix();
  auto results = std::make_shared<test::async_results<redis_result>>();
  constexpr int n = 500;
  // One sender issues all requests back to back, as many handlers would.
  env.sys.spawn([=](caf::event_based_actor* self) {
    for (int i = 0; i < n; ++i)
      self->request(redis, std::chrono::seconds(30), redis_request{{{"INCR", p + "counter"}, {"GET", p + "counter"}}})
        .then(
          [results](redis_result& r) {
            std::lock_guard<std::mutex> g(results->mtx);
            results->ok.push_back(std::move(r));
          },
          [results](caf::error& e) {
            std::lock_guard<std::mutex> g(results->mtx);
            results->failed.push_back(code_of(e));
          });
  });
  ASSERT_TRUE(test::wait_until([&] { return results->total() == n; }));
  ASSERT_TRUE(results->failed.empty());
  std::set<std::int64_t> seen;
  for (auto& r : results->ok) {
    ASSERT_EQ(r.replies.size(), 2u);
    seen.insert(r.replies[0].integer);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));  // every INCR answered to its own request
  redis_status st;
  env.call(redis, [&](redis_status& s) { st = s; }, stats_atom::value);
  EXPECT_EQ(st.commands, 2u * n);
  EXPECT_LT(st.pipelines, static_cast<std::uint64_t>(n)) << "requests were not coalesced";
  run(redis_request{{{"DEL", p + "counter"}}});
}

TEST_F(RedisActor, OversizedRequestIsRefused) {
  start(shared_port(), 4);
  redis_request big;
  for (int i = 0; i < 5; ++i)
    big.commands.push_back({"PING"});
  EXPECT_EQ(code_of(run(big)), errc::overloaded);
  EXPECT_FALSE(run(redis_request{{{"PING"}}}));
}

TEST_F(RedisActor, FailsWhileRedisIsDownAndRecovers) {
  test::private_redis server;
  start(server.port());
  ASSERT_FALSE(run(redis_request{{{"PING"}}}));
  server.stop();
  auto err = run(redis_request{{{"PING"}}});
  EXPECT_EQ(code_of(err), errc::unavailable) << description_of(err);
  server.start();
  EXPECT_TRUE(test::wait_until([&] { return !run(redis_request{{{"PING"}}}); }, std::chrono::seconds(20)));
  redis_status st;
  env.call(redis, [&](redis_status& s) { st = s; }, stats_atom::value);
  EXPECT_TRUE(st.connected);
  EXPECT_GE(st.errors, 1u);
}
