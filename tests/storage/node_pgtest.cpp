// The node actor (actors/system/node.cpp) on a real actor system with the real
// Postgres pool and Redis actor: liveness asks no one, readiness reports each
// dependency and the failure of one (a pool or Redis actor on a port nobody
// listens on), and the heartbeat keeps the node's row in the real `nodes` table
// fresh. Pool jobs are counted by the pool workers' registry counters, Redis
// commands by the Redis actor's status.
#include "actors/db/pg_pool.hpp"
#include "actors/redis/redis_actor.hpp"
#include "actors/system/node.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
using namespace chorus::actors;
using namespace std::chrono_literals;
namespace pg = chorus::storage::pg;

namespace {

struct NodeActor : ::testing::Test {
  test::actor_env env;
  test::temp_database db;
  pg_pool_actor pool;
  redis_actor redis;
  node_actor node;
  test::actor_stopper stop{env, {}};  // first to go: the actors end before the database is dropped

  void SetUp() override { pg::migrate(*pg::connect({db.dsn(), 5, 5000, "t"})); }

  // A node "n1" beating every `heartbeat`, with a pool of one connection to
  // `dsn` and a Redis actor for `redis_port`.
  void start(const std::string& dsn, int redis_port, std::chrono::milliseconds heartbeat = 1h) {
    pg_pool_options po;
    po.connection = {dsn, 2, 5000, "node_pgtest"};
    po.size = 1;  // one connection: jobs finish in the order they were asked
    pool = spawn_pg_pool(env.sys, po, env.reg, &env.metrics);
    redis_options ro;
    ro.host = test::env("CHORUS_TEST_REDIS_HOST");
    ro.port = redis_port;
    redis = spawn_redis(env.sys, ro, env.reg, &env.metrics);
    node_options no;
    no.name = "n1";
    no.http_address = "127.0.0.1:1";
    no.version = "test";
    no.heartbeat = heartbeat;
    node = spawn_node(env.sys, no, pool, redis, env.reg);
    stop.actors = {caf::actor_cast<caf::actor>(node), caf::actor_cast<caf::actor>(pool),
                   caf::actor_cast<caf::actor>(redis)};
  }
  int shared_redis() { return std::stoi(test::env("CHORUS_TEST_REDIS_PORT")); }

  // Jobs the Postgres pool ran (ok or failed), once all asked of it so far have
  // run; commands the Redis actor sent.
  std::int64_t pg_jobs() { return env.pg_jobs(pool); }
  std::uint64_t redis_commands() {
    redis_status out;
    auto err = env.call(redis, [&](redis_status& s) { out = s; }, stats_atom::value);
    EXPECT_FALSE(err) << description_of(err);
    return out.commands;
  }
  // A counter of the node actor; -1 before it has enlisted.
  std::int64_t counter(const std::string& name) {
    auto n = env.counters("node");
    auto it = n.find(name);
    return it == n.end() ? -1 : it->second;
  }

  readiness ready() {
    readiness out;
    auto err = env.call(node, [&](readiness& r) { out = std::move(r); }, ready_atom::value);
    EXPECT_FALSE(err) << description_of(err);
    return out;
  }
};

} // namespace

TEST_F(NodeActor, HealthAnswersOkWithoutAskingAnyone) {
  start(db.dsn(), shared_redis());
  ASSERT_TRUE(test::wait_until([&] { return counter("heartbeats") == 1; }, 30s));  // the one at start
  auto jobs = pg_jobs();
  auto commands = redis_commands();
  auto err = env.call(node, [](ok_atom) {}, health_atom::value);
  EXPECT_FALSE(err) << description_of(err);
  // A readiness probe after it: whatever health had asked for would be done
  // (same sender, same receivers, and one connection each) before its answer.
  auto r = ready();
  EXPECT_TRUE(r.ready());
  EXPECT_EQ(pg_jobs(), jobs + 1);                // the probe's, none of health's
  EXPECT_EQ(redis_commands(), commands + 1);     // its PING
}

TEST_F(NodeActor, ReadinessReportsAnUnreachablePostgresNextToAWorkingRedis) {
  start(test::unreachable_pg_dsn(), shared_redis());
  ASSERT_TRUE(test::wait_until([&] { return counter("heartbeat_errors") == 1; }, 30s));  // the one at start
  auto jobs = pg_jobs();
  auto commands = redis_commands();
  auto r = ready();
  EXPECT_FALSE(r.postgres);
  EXPECT_NE(r.postgres_error, "");
  EXPECT_FALSE(r.migrations);
  EXPECT_TRUE(r.redis) << r.redis_error;
  EXPECT_EQ(r.redis_error, "");
  EXPECT_FALSE(r.ready());
  EXPECT_EQ(r.expected_version, pg::latest_version());
  EXPECT_EQ(pg_jobs(), jobs + 1);             // its probe
  EXPECT_EQ(redis_commands(), commands + 1);  // its PING
  EXPECT_EQ(counter("ready_probes"), 1);
}

TEST_F(NodeActor, ReadinessReportsAnUnreachableRedisNextToAWorkingPostgres) {
  start(db.dsn(), test::free_port());
  auto r = ready();
  EXPECT_TRUE(r.postgres) << r.postgres_error;
  EXPECT_TRUE(r.migrations);
  EXPECT_EQ(r.schema_version, pg::latest_version());
  EXPECT_FALSE(r.redis);
  EXPECT_NE(r.redis_error, "");
  EXPECT_FALSE(r.ready());
  EXPECT_EQ(counter("ready_probes"), 1);
}

TEST_F(NodeActor, TheHeartbeatWritesTheNodeRowAtStart) {
  start(db.dsn(), shared_redis(), 1h);  // the next one is an hour away
  ASSERT_TRUE(test::wait_until([&] { return db.query_value("SELECT count(*) FROM nodes WHERE name = 'n1'") == "1"; }, 30s));
  EXPECT_EQ(db.query_value("SELECT http_address || ' ' || version FROM nodes WHERE name = 'n1'"), "127.0.0.1:1 test");
  EXPECT_TRUE(test::wait_until([&] { return counter("heartbeats") == 1; }, 30s));
  EXPECT_EQ(counter("heartbeat_errors"), 0);
}

TEST_F(NodeActor, TheHeartbeatWritesTheNodeRowAgainAfterItsInterval) {
  start(db.dsn(), shared_redis(), 200ms);
  auto seen = [&] { return db.query_value("SELECT last_seen_at::text FROM nodes WHERE name = 'n1'"); };
  ASSERT_TRUE(test::wait_until([&] { return !seen().empty(); }, 30s));
  auto started = db.query_value("SELECT started_at::text FROM nodes WHERE name = 'n1'");
  auto first = seen();
  ASSERT_TRUE(test::wait_until([&] { return seen() != first; }, 30s)) << "the heartbeat did not come again";
  EXPECT_EQ(db.query_value("SELECT started_at::text FROM nodes WHERE name = 'n1'"), started);  // still the same start
  EXPECT_GE(counter("heartbeats"), 2);
  EXPECT_EQ(counter("heartbeat_errors"), 0);
}

TEST_F(NodeActor, AFailedHeartbeatIsCountedAndTriedAgainAfterItsInterval) {
  start(test::unreachable_pg_dsn(), shared_redis(), 200ms);
  ASSERT_TRUE(test::wait_until([&] { return counter("heartbeat_errors") >= 2; }, 30s));
  EXPECT_EQ(counter("heartbeats"), 0);
  EXPECT_GE(pg_jobs(), 2);
}
