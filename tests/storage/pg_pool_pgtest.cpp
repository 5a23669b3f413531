#include "actors/db/pg_pool.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
using namespace chorus::actors;

namespace {

struct PgPool : ::testing::Test {
  test::actor_env env;
  test::temp_database db;
  pg_pool_actor pool;

  void start(const std::string& dsn, int size, int queue_limit, int statement_timeout_ms = 5000) {
    pg_pool_options o;
    o.connection = {dsn, 2, statement_timeout_ms, "pool_test"};
    o.size = size;
    o.queue_limit = queue_limit;
    o.queue_timeout = std::chrono::seconds(30);
    o.job_timeout = std::chrono::seconds(30);
    o.reconnect.cap = std::chrono::milliseconds(200);
    pool = spawn_pg_pool(env.sys, o, env.reg, &env.metrics);
  }
  void TearDown() override {
    if (pool)
      caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    env.sys.await_all_actors_done();
  }
  caf::error run(std::function<void(pqxx::connection_base&)> fn) {
    return env.call(pool, [](ok_atom) {}, db_call{"test", std::move(fn)});
  }
  pool_status stats() {
    pool_status out;
    env.call(pool, [&](pool_status& s) { out = s; }, stats_atom::value);
    return out;
  }
};

} // namespace

TEST_F(PgPool, RunsWorkOnAPooledConnection) {
  start(db.dsn(), 2, 16);
  int value = 0;
  auto err = run([&](pqxx::connection_base& c) {
    pqxx::work tx(c);
    value = tx.exec1("SELECT 40 + 2")[0].as<int>();
  });
  ASSERT_FALSE(err) << actors::description_of(err);
  EXPECT_EQ(value, 42);
  EXPECT_TRUE(test::wait_until([&] { return stats().connected == 2; }));
  EXPECT_EQ(stats().processed, 1u);
}

TEST_F(PgPool, TranslatesErrors) {
  start(db.dsn(), 1, 16);
  auto syntax = run([](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec("SELEC 1");
  });
  EXPECT_EQ(code_of(syntax), errc::internal);
  auto dup = run([](pqxx::connection_base& c) {
    pqxx::work tx(c);
    tx.exec("CREATE TEMP TABLE u (k int PRIMARY KEY); INSERT INTO u VALUES (1); INSERT INTO u VALUES (1)");
  });
  EXPECT_EQ(code_of(dup), errc::conflict);
  auto ours = run([](pqxx::connection_base&) { throw failure(errc::not_found, "nope"); });
  EXPECT_EQ(code_of(ours), errc::not_found);
  EXPECT_EQ(description_of(ours), "nope");
  // The worker survived all three and still serves.
  EXPECT_FALSE(run([](pqxx::connection_base& c) { pqxx::work(c).exec("SELECT 1"); }));
  EXPECT_EQ(stats().errors, 3u);
}

TEST_F(PgPool, FullQueueIsRefusedWithOverloaded) {
  start(db.dsn(), 1, 2);
  // Hold a lock the first job needs, so the only worker stays busy.
  pqxx::connection holder(db.dsn());
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_lock(4242)");
  auto results = std::make_shared<test::async_results<ok_atom>>();
  auto blocked = db_call{"blocked", [](pqxx::connection_base& c) {
                           pqxx::work tx(c);
                           tx.exec("SELECT pg_advisory_xact_lock(4242)");
                           tx.commit();
                         }};
  test::send_async<ok_atom>(env.sys, pool, blocked, results);
  ASSERT_TRUE(test::wait_until([&] { return stats().busy == 1; }));
  auto quick = db_call{"quick", [](pqxx::connection_base& c) { pqxx::work(c).exec("SELECT 1"); }};
  test::send_async<ok_atom>(env.sys, pool, quick, results);
  test::send_async<ok_atom>(env.sys, pool, quick, results);
  ASSERT_TRUE(test::wait_until([&] { return stats().queued == 2; }));
  auto refused = run([](pqxx::connection_base&) {});
  EXPECT_EQ(code_of(refused), errc::overloaded);
  EXPECT_EQ(stats().rejected, 1u);
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_unlock(4242)");
  ASSERT_TRUE(test::wait_until([&] { return results->total() == 3; }));
  EXPECT_EQ(results->ok.size(), 3u);
}

TEST_F(PgPool, StatementTimeoutEndsSlowQueries) {
  start(db.dsn(), 1, 4, 200);
  auto err = run([](pqxx::connection_base& c) { pqxx::work(c).exec("SELECT pg_sleep(30)"); });
  EXPECT_EQ(code_of(err), errc::timeout) << description_of(err);
  EXPECT_FALSE(run([](pqxx::connection_base& c) { pqxx::work(c).exec("SELECT 1"); }));
}

TEST_F(PgPool, LostConnectionsFailFastAndRecover) {
  test::private_postgres pg;
  start(pg.dsn(), 2, 16);
  auto ping = [](pqxx::connection_base& c) { pqxx::work(c).exec("SELECT 1"); };
  ASSERT_FALSE(run(ping));
  pg.stop();
  auto down = run(ping);
  EXPECT_EQ(code_of(down), errc::unavailable) << description_of(down);
  auto again = run(ping);
  EXPECT_EQ(code_of(again), errc::unavailable);
  EXPECT_TRUE(test::wait_until([&] { return stats().connected < 2; }));
  pg.start();
  EXPECT_TRUE(test::wait_until([&] { return !run(ping); }, std::chrono::seconds(20)));
  // Workers reconnect by themselves (backoff), not only when a job arrives.
  EXPECT_TRUE(test::wait_until([&] { return stats().connected >= 1; }, std::chrono::seconds(20)));
}
