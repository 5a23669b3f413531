// Per-user streaming outboxes against the real Redis: the key schema (XADD
// with explicit sequence ids, bounded), the replay plan over what Redis keeps,
// and the streams actor sequencing a user's events, answering resumes and
// marking the gap when its outbox was not live.
#include "actors/redis/redis_actor.hpp"
#include "actors/streams/sink.hpp"
#include "actors/streams/streams.hpp"
#include "storage/redis/streams.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"
#include "support/live_streams.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <future>
#include <gtest/gtest.h>
#include <random>

using namespace chorus;
using namespace chorus::actors;
namespace rd = storage::redis;

namespace {

int port() { return std::stoi(test::env("CHORUS_TEST_REDIS_PORT")); }

std::int64_t fresh_account() {
  static std::mt19937_64 rng{std::random_device{}()};
  return static_cast<std::int64_t>(rng() >> 2);
}

using capture = test::stream_capture;

} // namespace

TEST(StreamKeys, AppendReadAndTrim) {
  rd::context ctx("127.0.0.1", port(), std::chrono::milliseconds(2000));
  auto a = fresh_account();
  ctx.call({"DEL", rd::stream_key(a)});
  std::vector<rd::command> cmds;
  for (int i = 1; i <= 300; ++i)
    cmds.push_back(rd::stream_append(a, {i, "update", "{\"n\":" + std::to_string(i) + "}", {"user", "user:notification"}, 7}, 10));
  for (auto& r : ctx.pipeline(cmds))
    ASSERT_FALSE(r.is_error()) << r.str;
  auto last = rd::parse_stream_entries(ctx.call(rd::stream_last(a)));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].seq, 300);
  EXPECT_EQ(last[0].streams, (std::vector<std::string>{"user", "user:notification"}));
  EXPECT_EQ(last[0].from, 7);
  auto len = ctx.call({"XLEN", rd::stream_key(a)}).integer;
  EXPECT_LT(len, 300) << "bounded (approximately) by the outbox size";
  EXPECT_GE(len, 10);
  // Recent cursor: exact replay.
  auto after = rd::parse_stream_entries(ctx.call(rd::stream_after(a, 295, 100)));
  auto plan = rd::plan_replay(295, 300, after);
  ASSERT_FALSE(plan.refetch);
  ASSERT_EQ(plan.events.size(), 5u);
  EXPECT_EQ(plan.events.front().seq, 296);
  EXPECT_EQ(plan.events.front().payload, "{\"n\":296}");
  // A cursor older than what was kept: refetch.
  EXPECT_TRUE(rd::plan_replay(3, 300, rd::parse_stream_entries(ctx.call(rd::stream_after(a, 3, 1000)))).refetch);
  ctx.call({"DEL", rd::stream_key(a)});
}

namespace {
struct Outbox : ::testing::Test {
  test::actor_env env;
  redis_actor redis;
  streams_node_actor streams;
  std::shared_ptr<capture> sink = std::make_shared<capture>();
  rd::context ctx{"127.0.0.1", port(), std::chrono::milliseconds(2000)};
  std::int64_t user = fresh_account();

  void SetUp() override {
    ctx.call({"DEL", rd::stream_key(user)});
    redis_options ro;
    ro.host = "127.0.0.1";
    ro.port = port();
    redis = spawn_redis(env.sys, ro, env.reg, &env.metrics);
    streams_options so;
    so.outbox_size = 100;
    so.resume_window = std::chrono::milliseconds(0);
    so.tick = std::chrono::milliseconds(20);
    streams = spawn_streams(env.sys, so, {}, redis, {}, env.reg, &env.metrics);
    caf::anon_send(streams, stream_sink_install{sink});
  }
  void TearDown() override {
    ctx.call({"DEL", rd::stream_key(user)});
    caf::anon_send_exit(streams, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(redis, caf::exit_reason::user_shutdown);
    env.sys.await_all_actors_done();
  }
  outbox_replay watch(bool on, std::int64_t since = -1) {
    auto p = std::make_shared<std::promise<outbox_replay>>();
    auto f = p->get_future();
    caf::anon_send(streams, stream_watch{account_id{user}, on, since, [p](const outbox_replay* r, const caf::error*) {
                                           p->set_value(r ? *r : outbox_replay{});
                                         }});
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }
  void publish(const std::string& payload) {
    caf::anon_send(streams, user_stream_event{account_id{user}, {"user"}, {"update", payload}, account_id{}});
  }
  std::int64_t counter(const std::string& name) { return env.counters("streams")[name]; }
};
} // namespace

TEST_F(Outbox, SequencesReplaysAndMarksGaps) {
  auto w = watch(true);
  EXPECT_EQ(w.last, 1) << "a fresh outbox starts after a gap marker (nothing before it was kept)";
  publish("a");
  publish("b");
  publish("c");
  ASSERT_TRUE(test::wait_until([&] { return sink->seqs().size() == 3; }));
  EXPECT_EQ(sink->seqs(), (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(sink->got[0].keys, (std::vector<std::string>{"user@" + std::to_string(user)}));
  // A resume from 2 gets 3 and 4 from Redis, in order.
  auto r = watch(true, 2);
  EXPECT_FALSE(r.refetch);
  EXPECT_EQ(r.last, 4);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].seq, 3);
  EXPECT_EQ(r.events[0].ev.payload, "b");
  EXPECT_EQ(r.events[1].seq, 4);
  // From before the outbox was live: the gap marker makes it a refetch.
  EXPECT_TRUE(watch(true, 0).refetch);
  EXPECT_TRUE(watch(true, 99).refetch) << "a cursor beyond the outbox";
  // Every watcher leaves; with a zero resume window the outbox ends.
  for (int i = 0; i < 4; ++i)
    watch(false);
  ASSERT_TRUE(test::wait_until([&] { return counter("live_outboxes") == 0; }));
  auto skipped = counter("skipped");
  publish("dropped");
  ASSERT_TRUE(test::wait_until([&] { return counter("skipped") == skipped + 1; }));
  EXPECT_EQ(sink->seqs().size(), 3u);
  // Back: the new outbox continues the sequence after a gap marker, so a
  // client resuming from 4 learns it missed something.
  auto again = watch(true, 4);
  EXPECT_TRUE(again.refetch);
  EXPECT_EQ(again.last, 5);
  publish("d");
  ASSERT_TRUE(test::wait_until([&] { return sink->seqs().size() == 4; }));
  EXPECT_EQ(sink->seqs().back(), 6);
  ASSERT_TRUE(test::wait_until([&] {
    return rd::parse_stream_entries(ctx.call(rd::stream_last(user))).at(0).seq == 6;
  }));
  auto all = rd::parse_stream_entries(ctx.call(rd::stream_after(user, 0, 100)));
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0].event, rd::gap_event);
  EXPECT_EQ(all[4].event, rd::gap_event);
  EXPECT_EQ(all[5].payload, "d");
}

namespace {
// Publishers (notifications, conversations) and their tests hold the narrow
// role: a stand-in with only the publish handler is a streams_actor, and the
// streams actor's whole interface converts to it.
streams_actor::behavior_type publish_only(streams_actor::pointer) {
  return {[](user_stream_event&) {}};
}
} // namespace

TEST(StreamsRole, PublishersHoldTheNarrowRole) {
  test::actor_env env;
  streams_actor stand_in = env.sys.spawn(publish_only);
  streams_node_actor whole;
  streams_actor narrowed = whole;  // compiles: the whole interface includes the role
  EXPECT_TRUE(stand_in);
  EXPECT_FALSE(narrowed);
  caf::anon_send_exit(stand_in, caf::exit_reason::user_shutdown);
  env.sys.await_all_actors_done();
}
