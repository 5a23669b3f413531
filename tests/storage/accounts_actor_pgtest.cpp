// The accounts actor (actors/accounts/accounts.cpp) on a real actor system, with
// the real Postgres pool and blocking pool: the instance counts it keeps for a
// while, a pool error passed on and not kept, and a registration that stops at
// its first failing step (a pool whose Postgres cannot be reached). Pool jobs
// are counted by the pool workers' registry counters.
#include "actors/accounts/oauth.hpp"
#include "actors/db/pg_pool.hpp"
#include "actors/workers/blocking_pool.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
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

struct AccountsActor : ::testing::Test {
  test::actor_env env;
  test::temp_database db;
  id_generator ids{4};
  pg_pool_actor pool;
  blocking_pool_actor cpu;
  accounts_actor accounts;
  test::actor_stopper stop{env, {}};  // first to go: the actors end before the database is dropped

  void SetUp() override { pg::migrate(*pg::connect({db.dsn(), 5, 5000, "t"})); }

  // The actor with a pool of one connection to `dsn` (queue_limit jobs may wait).
  void start(const std::string& dsn, accounts_options opts = {}, int queue_limit = 16) {
    pg_pool_options po;
    po.connection = {dsn, 2, 5000, "accounts_pgtest"};
    po.size = 1;
    po.queue_limit = queue_limit;
    po.queue_timeout = 30s;
    po.job_timeout = 30s;
    pool = spawn_pg_pool(env.sys, po, env.reg, &env.metrics);
    cpu = spawn_blocking_pool(env.sys, {"cpu", 1, 16}, env.reg);
    accounts = spawn_accounts(env.sys, opts, pool, cpu, ids, env.reg);
    stop.actors = {caf::actor_cast<caf::actor>(accounts), caf::actor_cast<caf::actor>(pool),
                   caf::actor_cast<caf::actor>(cpu)};
  }

  // Jobs the Postgres pool ran (ok or failed), once all asked of it so far have run.
  std::int64_t pg_jobs() { return env.pg_jobs(pool); }

  void make_account(const std::string& name) {
    auto conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pqxx::work tx(*conn);
    pg::insert_account(tx, {static_cast<std::int64_t>(ids.next()), name, name + "@example.com", "x", false, true, "en"});
    tx.commit();
  }

  caf::expected<instance_stats> instance() {
    instance_stats out;
    auto err = env.call(accounts, [&](instance_stats& s) { out = s; }, instance_query{});
    if (err)
      return err;
    return out;
  }
};

} // namespace

TEST_F(AccountsActor, InstanceCountsAreLoadedOnceAndKeptForAMinute) {
  start(db.dsn());
  make_account("alice");
  auto first = instance();
  ASSERT_TRUE(first) << description_of(first.error());
  EXPECT_EQ(first->user_count, 1);
  make_account("bob");
  auto second = instance();
  ASSERT_TRUE(second) << description_of(second.error());
  EXPECT_EQ(second->user_count, 1);  // the kept counts, not bob's
  EXPECT_EQ(pg_jobs(), 1);
}

TEST_F(AccountsActor, InstanceCountsAreLoadedAgainOnceTheirTimeIsUp) {
  accounts_options opts;
  opts.instance_ttl = 200ms;
  start(db.dsn(), opts);
  make_account("alice");
  auto first = instance();
  ASSERT_TRUE(first) << description_of(first.error());
  EXPECT_EQ(first->user_count, 1);
  make_account("bob");
  // Waiting for the time to pass is the point: the actor's clock decides when to load again.
  ASSERT_TRUE(test::wait_until([&] {
    auto now = instance();
    return now && now->user_count == 2;
  }));
  EXPECT_EQ(pg_jobs(), 2);  // once more, not on every request
}

TEST_F(AccountsActor, AFailedLoadIsAnsweredWithThePoolErrorAndNotKept) {
  start(db.dsn(), {}, 1);
  make_account("alice");
  // The only worker waits for a lock the test holds, and one more job fills the queue.
  pqxx::connection holder(db.dsn());
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_lock(4242)");
  auto results = std::make_shared<test::async_results<ok_atom>>();
  test::send_async<ok_atom>(env.sys, pool, db_call{"blocked", [](pqxx::connection_base& c) {
                                                      pqxx::work tx(c);
                                                      tx.exec("SELECT pg_advisory_xact_lock(4242)");
                                                      tx.commit();
                                                    }},
                            results);
  ASSERT_TRUE(test::wait_until([&] { return env.counters("pg_pool")["busy"] == 1; }, 30s));
  test::send_async<ok_atom>(env.sys, pool, db_call{"queued", [](pqxx::connection_base&) {}}, results);
  ASSERT_TRUE(test::wait_until([&] { return env.counters("pg_pool")["queued"] == 1; }, 30s));
  auto refused = instance();
  ASSERT_FALSE(refused) << "answered past a full queue";
  EXPECT_EQ(code_of(refused.error()), errc::overloaded);
  EXPECT_EQ(env.counters("pg_pool")["rejected"], 1);
  pqxx::nontransaction(holder).exec("SELECT pg_advisory_unlock(4242)");
  ASSERT_TRUE(test::wait_until([&] { return results->total() == 2; }, 30s));
  EXPECT_EQ(results->ok.size(), 2u);
  // The next request loads the counts.
  auto loaded = instance();
  ASSERT_TRUE(loaded) << description_of(loaded.error());
  EXPECT_EQ(loaded->user_count, 1);
  EXPECT_EQ(pg_jobs(), 3);  // blocked, queued, and the load
}

TEST_F(AccountsActor, ARegistrationStopsAtTheFirstFailingStep) {
  start(test::unreachable_pg_dsn());
  registration r;
  r.username = "alice";
  r.email = "alice@example.com";
  r.password = "pw";
  auto err = env.call(accounts, [](token_issued&) {}, r);
  ASSERT_TRUE(err) << "registered without a database";
  EXPECT_EQ(code_of(err), errc::unavailable) << description_of(err);
  EXPECT_EQ(pg_jobs(), 1);                        // "registrations open?" alone
  EXPECT_EQ(env.processed("blocking_pool"), 0u);  // no password hashed
  auto n = env.counters("accounts");
  EXPECT_EQ(n.at("registrations"), 0);
  EXPECT_EQ(n.at("refused"), 0);
}
