// The node actor (actors/system/node.cpp): liveness, readiness from its two
// probes, and the heartbeat timer, under the deterministic coordinator with
// stub Postgres and Redis actors; the readiness decisions called directly.
#define CAF_SUITE node
#include "actors/system/node_state.hpp"
#include "tests/actors/stubs.hpp"

using namespace chorus;
using namespace chorus::actors;

namespace {

storage::redis::reply status_reply(std::string text, bool error = false) {
  storage::redis::reply r;
  r.type = error ? storage::redis::reply::kind::error : storage::redis::reply::kind::status;
  r.str = std::move(text);
  return r;
}

} // namespace

// ---- Decisions, without an actor system ---------------------------------------

CAF_TEST(migrations are ready once the applied version reaches the expected one) {
  readiness r;
  r.expected_version = 12;
  node_rules::postgres_answered(r, 11);
  CAF_CHECK(r.postgres);
  CAF_CHECK_EQUAL(r.schema_version, 11);
  CAF_CHECK(!r.migrations);
  node_rules::postgres_answered(r, 12);
  CAF_CHECK(r.migrations);
}

CAF_TEST(redis is ready on a reply that is not an error) {
  readiness ok;
  node_rules::redis_answered(ok, redis_result{{status_reply("PONG")}});
  CAF_CHECK(ok.redis);
  readiness err;
  node_rules::redis_answered(err, redis_result{{status_reply("LOADING dataset", true)}});
  CAF_CHECK(!err.redis);
  CAF_CHECK_EQUAL(err.redis_error, "LOADING dataset");
  readiness none;
  node_rules::redis_answered(none, redis_result{});
  CAF_CHECK(!none.redis);
  CAF_CHECK_EQUAL(none.redis_error, "no reply");
}

// ---- The actor, with stub Postgres and Redis -----------------------------------

namespace {

struct node_fixture : test::stub_fixture {
  std::shared_ptr<test::stub_log> redis_log = std::make_shared<test::stub_log>();
  redis_actor redis = sys.spawn(test::stub_redis, redis_log);
  node_options opts;
  node_actor node;

  node_fixture() {
    opts.name = "n1";
    opts.heartbeat = std::chrono::seconds(10);
    redis_log->redis = redis_result{{status_reply("PONG")}};
    node = spawn_node(sys, opts, pool, redis, reg);
    sched.run();  // the first heartbeat
  }

  // The heartbeat re-arms itself forever: end the node before the fixture
  // runs all timers at teardown.
  ~node_fixture() {
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(node_actor_tests, node_fixture)

CAF_TEST(health answers ok without asking anyone) {
  auto before = db->calls.size();
  auto got = ask<ok_atom>(node, health_atom::value);
  CAF_CHECK(got.value);
  CAF_CHECK_EQUAL(db->calls.size(), before);
  CAF_CHECK(redis_log->calls.empty());
}

CAF_TEST(readiness reports each dependency and the failure of one) {
  db->fail = make_error(errc::unavailable, "postgres is down");
  auto got = ask<readiness>(node, ready_atom::value);
  CAF_REQUIRE(got.value);
  auto& r = *got.value;
  CAF_CHECK(!r.postgres);
  CAF_CHECK_EQUAL(r.postgres_error, "postgres is down");
  CAF_CHECK(r.redis);
  CAF_CHECK(!r.ready());
  CAF_CHECK_EQUAL(r.expected_version, storage::pg::latest_version());
  CAF_CHECK_EQUAL(db->count("ready_probe"), 1u);
  CAF_CHECK_EQUAL(redis_log->calls, (std::vector<std::string>{"PING"}));
  CAF_CHECK_EQUAL(counter("node", "ready_probes"), 1);
}

CAF_TEST(the heartbeat runs at start and again after its interval) {
  CAF_CHECK_EQUAL(db->count("heartbeat"), 1u);
  CAF_CHECK_EQUAL(counter("node", "heartbeats"), 1);
  db->fail = make_error(errc::unavailable, "postgres is down");
  advance_time(opts.heartbeat);
  sched.run();
  CAF_CHECK_EQUAL(db->count("heartbeat"), 2u);
  CAF_CHECK_EQUAL(counter("node", "heartbeats"), 1);
  CAF_CHECK_EQUAL(counter("node", "heartbeat_errors"), 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
