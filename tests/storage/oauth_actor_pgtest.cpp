// The OAuth actor (actors/accounts/oauth.cpp) on a real actor system, with the
// real Postgres pool and blocking pool against a real, migrated database: what it
// answers without a pool job (the token cache), how concurrent checks of one
// token share a lookup and its failure, and the refusals that come before any
// password check or write. Pool jobs are counted by the pool workers' registry
// counters; a lookup is held in flight by a table lock the test takes.
#include "actors/accounts/oauth.hpp"
#include "actors/accounts/token_cache.hpp"
#include "actors/db/pg_pool.hpp"
#include "actors/workers/blocking_pool.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/oauth.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
using namespace chorus::actors;
using namespace std::chrono_literals;
namespace pg = chorus::storage::pg;

namespace {

constexpr const char* app_name = "oauth_pgtest";  // the pool's connections, as pg_stat_activity shows them

struct OAuthActor : ::testing::Test {
  test::actor_env env;
  test::temp_database db;
  id_generator ids{3};
  std::shared_ptr<token_cache> cache = std::make_shared<token_cache>();
  pg_pool_actor pool;
  blocking_pool_actor cpu;
  oauth_actor oauth;
  test::actor_stopper stop{env, {}};  // first to go: the actors end before the database is dropped

  void SetUp() override {
    pg::migrate(*pg::connect({db.dsn(), 5, 5000, "t"}));
    pg_pool_options po;
    po.connection = {db.dsn(), 5, 5000, app_name};
    po.size = 1;  // one connection: one lookup in flight is one backend to find
    pool = spawn_pg_pool(env.sys, po, env.reg, &env.metrics);
    cpu = spawn_blocking_pool(env.sys, {"cpu", 1, 16}, env.reg);
    oauth_options oo;
    oo.cache = cache;
    oo.dummy_hash = crypto::hash_password("not anyone's");
    oauth = spawn_oauth(env.sys, oo, pool, cpu, ids, env.reg);
    stop.actors = {caf::actor_cast<caf::actor>(oauth), caf::actor_cast<caf::actor>(pool),
                   caf::actor_cast<caf::actor>(cpu)};
  }

  std::int64_t next() { return static_cast<std::int64_t>(ids.next()); }
  // Jobs the Postgres pool ran (ok or failed), once all asked of it so far have run.
  std::int64_t pg_jobs() { return env.pg_jobs(pool); }
  // A counter of the oauth actor; -1 before it has enlisted.
  std::int64_t counter(const std::string& name) {
    auto n = env.counters("oauth");
    auto it = n.find(name);
    return it == n.end() ? -1 : it->second;
  }

  // An account that can sign in with `password`; no token.
  std::int64_t make_account(const std::string& username, const std::string& password) {
    auto conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pqxx::work tx(*conn);
    auto id = next();
    pg::insert_account(tx, {id, username, username + "@example.com", crypto::hash_password(password), false, true, "en"});
    tx.commit();
    return id;
  }
};

token_grant password_grant(std::string client_id, std::string username, std::string password) {
  token_grant g;
  g.grant_type = "password";
  g.client_id = std::move(client_id);
  g.client_secret = "s3cret";
  g.username = std::move(username);
  g.password = std::move(password);
  return g;
}

} // namespace

TEST_F(OAuthActor, ACachedBearerTokenIsAnsweredWithoutAskingThePool) {
  // Not in the database: only the cache knows it.
  auth_context ctx{token_id{3}, app_id{7}, account_id{5}, {"read"}, false};
  cache->remember(crypto::sha256_hex("tok"), ctx, std::chrono::steady_clock::now() + 1h);
  auth_context got;
  auto err = env.call(oauth, [&](auth_context& c) { got = std::move(c); }, bearer{"tok"});
  ASSERT_FALSE(err) << description_of(err);
  EXPECT_EQ(got.account_id.value(), 5);
  EXPECT_EQ(got.scopes, std::vector<std::string>{"read"});
  EXPECT_EQ(pg_jobs(), 0);
  EXPECT_EQ(counter("cache_hits"), 1);
  EXPECT_EQ(counter("cache_misses"), 0);
}

TEST_F(OAuthActor, ConcurrentChecksOfAnUnknownTokenShareOneLookupAndAreRefused) {
  // The lookup waits for this lock, so the second check arrives while it is in flight.
  pqxx::connection holder(db.dsn());
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE oauth_tokens IN ACCESS EXCLUSIVE MODE");
  auto results = std::make_shared<test::async_results<auth_context>>();
  test::send_async<auth_context>(env.sys, oauth, bearer{"nope"}, results);
  test::send_async<auth_context>(env.sys, oauth, bearer{"nope"}, results);
  ASSERT_TRUE(test::wait_until([&] { return counter("cache_misses") == 2; }, 30s));
  EXPECT_EQ(results->total(), 0u);  // both wait for the held lookup
  lock.abort();
  ASSERT_TRUE(test::wait_until([&] { return results->total() == 2; }, 30s));
  EXPECT_TRUE(results->ok.empty()) << "an unknown token was accepted";
  EXPECT_EQ(results->failed, (std::vector<errc>{errc::unauthorized, errc::unauthorized}));
  EXPECT_EQ(pg_jobs(), 1);
  EXPECT_EQ(cache->size(), 0u);
}

TEST_F(OAuthActor, AFailedLookupAnswersEveryWaiterAndTheNextCheckLooksAgain) {
  auto app = next();
  auto alice = make_account("alice", "pw");
  {
    auto conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pg::insert_app(*conn, {app_id{app}, "Sample", "", {"https://app.example/cb"}, "read", "client-7",
                           crypto::sha256_hex("s3cret")});
    pg::issue_token(*conn, next(), crypto::sha256_hex("tok"), app, alice, "read");
  }
  pqxx::connection holder(db.dsn());
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE oauth_tokens IN ACCESS EXCLUSIVE MODE");
  auto results = std::make_shared<test::async_results<auth_context>>();
  test::send_async<auth_context>(env.sys, oauth, bearer{"tok"}, results);
  test::send_async<auth_context>(env.sys, oauth, bearer{"tok"}, results);
  ASSERT_TRUE(test::wait_until([&] { return counter("cache_misses") == 2; }, 30s));
  // The lookup's backend waits for the lock; Postgres ends it: the lookup fails.
  std::string pid;
  ASSERT_TRUE(test::wait_until(
    [&] {
      pid = db.query_value(std::string("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND application_name = '") + app_name + "' AND wait_event_type = 'Lock'");
      return !pid.empty();
    },
    30s));
  EXPECT_EQ(db.query_value("SELECT pg_terminate_backend(" + pid + ")"), "t");
  ASSERT_TRUE(test::wait_until([&] { return results->total() == 2; }, 30s));
  EXPECT_TRUE(results->ok.empty());
  EXPECT_EQ(results->failed, (std::vector<errc>{errc::unavailable, errc::unavailable}));
  lock.abort();
  EXPECT_EQ(pg_jobs(), 1);
  // Nothing of the failure was kept: the next check looks again, and finds the token.
  auth_context got;
  auto err = env.call(oauth, [&](auth_context& c) { got = std::move(c); }, bearer{"tok"});
  ASSERT_FALSE(err) << description_of(err);
  EXPECT_EQ(got.account_id.value(), alice);
  EXPECT_EQ(pg_jobs(), 2);
  EXPECT_EQ(counter("cache_misses"), 3);
  EXPECT_EQ(cache->size(), 1u);
}

TEST_F(OAuthActor, AGrantFromAnUnknownClientIsRefusedBeforeAnyPasswordCheckOrWrite) {
  make_account("alice", "pw");  // the password is right: only the client is wrong
  caf::error err = env.call(oauth, [](token_issued&) {}, password_grant("client-7", "alice", "pw"));
  ASSERT_TRUE(err) << "a grant from an unknown client was issued";
  EXPECT_EQ(description_of(err), "invalid_client: client authentication failed");
  EXPECT_EQ(pg_jobs(), 1);                          // the lookup alone
  EXPECT_EQ(env.processed("blocking_pool"), 0u);    // no argon2id
  EXPECT_EQ(db.query_value("SELECT count(*) FROM oauth_tokens"), "0");
  EXPECT_EQ(counter("denied"), 1);
  EXPECT_EQ(counter("grants"), 0);
}

TEST_F(OAuthActor, AnAuthorizationRequestForAnUnknownClientIsRefusedWithoutCountingADenial) {
  auto err = env.call(oauth, [](authorization&) {}, authorize_check{"client-7", "https://app.example/cb", {}});
  ASSERT_TRUE(err) << "an unknown client was authorized";
  EXPECT_EQ(description_of(err), "invalid_client: unknown client_id");
  EXPECT_EQ(pg_jobs(), 1);
  EXPECT_EQ(counter("denied"), 0);
}
