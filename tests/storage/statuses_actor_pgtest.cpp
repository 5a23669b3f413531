// The statuses actor (actors/statuses/statuses.cpp) on a real actor system with
// the real Postgres pool: a create the pool cannot run (its Postgres cannot be
// reached) is answered with the pool's error and not counted, and each read is
// counted and runs as one pool job against a real database. Pool jobs are
// counted by the pool workers' registry counters.
#include "actors/db/pg_pool.hpp"
#include "actors/statuses/statuses.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/statuses.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
using namespace chorus::actors;
using namespace std::chrono_literals;
namespace pg = chorus::storage::pg;

namespace {

struct StatusesActor : ::testing::Test {
  test::actor_env env;
  test::temp_database db;
  id_generator ids{6};
  pg_pool_actor pool;
  statuses_actor statuses;
  test::actor_stopper stop{env, {}};  // first to go: the actors end before the database is dropped

  void SetUp() override { pg::migrate(*pg::connect({db.dsn(), 5, 5000, "t"})); }

  void start(const std::string& dsn) {
    pg_pool_options po;
    po.connection = {dsn, 2, 5000, "statuses_pgtest"};
    po.size = 1;
    pool = spawn_pg_pool(env.sys, po, env.reg, &env.metrics);
    statuses_options opts;
    opts.batching = false;  // one pool job per create
    statuses = spawn_statuses(env.sys, opts, pool, ids, env.reg);
    stop.actors = {caf::actor_cast<caf::actor>(statuses), caf::actor_cast<caf::actor>(pool)};
  }

  std::int64_t next() { return static_cast<std::int64_t>(ids.next()); }
  // Jobs the Postgres pool ran (ok or failed), once all asked of it so far have run.
  std::int64_t pg_jobs() { return env.pg_jobs(pool); }
  // A counter of the statuses actor; -1 before it has enlisted.
  std::int64_t counter(const std::string& name) {
    auto n = env.counters("statuses");
    auto it = n.find(name);
    return it == n.end() ? -1 : it->second;
  }
};

} // namespace

TEST_F(StatusesActor, ACreateThePoolCannotRunIsAnsweredWithItsErrorAndNotCounted) {
  start(test::unreachable_pg_dsn());
  status_create req;
  req.who.account_id = account_id{5};
  req.fields.text = "hello";
  auto err = env.call(statuses, [](status_view&) {}, req);
  ASSERT_TRUE(err) << "created without a database";
  EXPECT_EQ(code_of(err), errc::unavailable) << description_of(err);
  EXPECT_EQ(pg_jobs(), 1);
  EXPECT_EQ(counter("created"), 0);
}

TEST_F(StatusesActor, ReadsAreCountedAndRunAsOnePoolJobEach) {
  // A status and a reply to it, written directly.
  account_id alice{next()};
  status_id parent{next()}, reply{next()};
  {
    auto conn = pg::connect({db.dsn(), 5, 5000, "t"});
    {
      pqxx::work tx(*conn);
      pg::insert_account(tx, {alice.value(), "alice", "a@example.com", "x", false, true, "en"});
      tx.commit();
    }
    pg::new_status p;
    p.id = parent;
    p.account_id = alice;
    p.text = p.content = "first";
    pg::create_statuses(*conn, {p});
    auto r = p;
    r.id = reply;
    r.text = r.content = "second";
    r.in_reply_to_id = parent;
    pg::create_statuses(*conn, {r});
  }
  start(db.dsn());
  status_view got;
  auto err = env.call(statuses, [&](status_view& v) { got = std::move(v); }, status_get{alice, reply});
  ASSERT_FALSE(err) << description_of(err);
  ASSERT_EQ(got.bundle.statuses.size(), 1u);
  EXPECT_EQ(got.bundle.statuses[0].text, "second");
  status_view context;
  err = env.call(statuses, [&](status_view& v) { context = std::move(v); }, context_query{alice, reply});
  ASSERT_FALSE(err) << description_of(err);
  ASSERT_EQ(context.bundle.statuses.size(), 1u);  // the ancestor; no descendants
  EXPECT_EQ(context.bundle.statuses[0].id, parent);
  EXPECT_EQ(context.split, 1u);
  EXPECT_EQ(pg_jobs(), 2);
  EXPECT_EQ(counter("reads"), 2);
}
