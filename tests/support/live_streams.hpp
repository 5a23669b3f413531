#pragma once
// The real streams actor (actors/streams) on the real test Redis, with a
// capture at its HTTP boundary (the stream_sink the node's hub implements): what
// reaches `capture` is what streaming connections would be given. A user's
// events are kept only while the user's outbox is live: watch() it first.
#include "actors/redis/redis_actor.hpp"
#include "actors/streams/sink.hpp"
#include "actors/streams/streams.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"

#include <caf/send.hpp>
#include <future>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace chorus::test {

struct stream_capture : actors::stream_sink {
  std::mutex mtx;
  std::vector<actors::stream_out> got;
  void deliver(const actors::stream_out& ev) override {
    std::lock_guard<std::mutex> g(mtx);
    got.push_back(ev);
  }
  void relation(account_id, account_id, model::relation_verb) override {}
  std::size_t size() {
    std::lock_guard<std::mutex> g(mtx);
    return got.size();
  }
  std::vector<actors::stream_out> events() {
    std::lock_guard<std::mutex> g(mtx);
    return got;
  }
  std::vector<std::int64_t> seqs() {
    std::lock_guard<std::mutex> g(mtx);
    std::vector<std::int64_t> out;
    for (auto& e : got)
      out.push_back(e.seq);
    return out;
  }
};

struct live_streams {
  std::shared_ptr<stream_capture> capture = std::make_shared<stream_capture>();
  actors::redis_actor redis;
  actors::streams_node_actor streams;

  // `pool` loads streaming users' follows (large authors); the test's own pool will do.
  live_streams(actor_env& env, actors::pg_pool_actor pool) {
    actors::redis_options ro;
    ro.port = std::stoi(test::env("CHORUS_TEST_REDIS_PORT"));
    redis = actors::spawn_redis(env.sys, ro, env.reg, &env.metrics);
    actors::streams_options so;
    so.tick = std::chrono::milliseconds(50);
    streams = actors::spawn_streams(env.sys, so, std::move(pool), redis, {}, env.reg, &env.metrics);
    caf::anon_send(streams, actors::stream_sink_install{capture});
  }
  std::vector<caf::actor> actors() const { return {caf::actor_cast<caf::actor>(streams), caf::actor_cast<caf::actor>(redis)}; }

  // Makes `user`'s outbox live (as a streaming connection does) and waits until it is.
  void watch(account_id user) {
    auto p = std::make_shared<std::promise<bool>>();
    auto f = p->get_future();
    caf::anon_send(streams, actors::stream_watch{user, true, -1, [p](const actors::outbox_replay* r, const caf::error*) {
                                                   p->set_value(r != nullptr);
                                                 }});
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "the outbox never answered";
    ASSERT_TRUE(f.get()) << "the outbox did not become live";
  }
};

} // namespace chorus::test
