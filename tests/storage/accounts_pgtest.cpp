// Account and OAuth transactions (storage/pg/accounts.hpp, oauth.hpp) against a
// real Postgres, with a connection alone: no actor system.
#include "common/errc.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/oauth.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
namespace pg = chorus::storage::pg;

namespace {
struct AccountWrites : ::testing::Test {
  test::temp_database db;
  std::unique_ptr<pqxx::connection> conn;
  id_generator ids{7};
  std::int64_t app = 0;

  void SetUp() override {
    conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pg::migrate(*conn);
    app = next();
    pg::insert_app(*conn, {app_id{app}, "test app", "", {"urn:ietf:wg:oauth:2.0:oob"}, "read write", "client", "secret"});
  }
  std::int64_t next() { return static_cast<std::int64_t>(ids.next()); }
  pg::new_account account(const std::string& name) {
    return {next(), name, name + "@example.com", "hash", false, true, "en"};
  }
  std::string value(const std::string& sql) { return db.query_value(sql); }
};
} // namespace

TEST_F(AccountWrites, RegistrationCommitsAccountUserAndTokenTogether) {
  auto a = account("Alice");
  auto row = pg::register_account(*conn, a, next(), "digest-1", app, "read");
  EXPECT_EQ(row.id, a.id);
  EXPECT_EQ(row.username, "Alice");
  EXPECT_EQ(value("SELECT count(*) FROM users"), "1");
  EXPECT_EQ(value("SELECT account_id FROM oauth_tokens WHERE token_hash = 'digest-1'"), std::to_string(a.id));
  // A taken username (case-insensitive): nothing of the second registration stays.
  auto again = account("alice");
  try {
    pg::register_account(*conn, again, next(), "digest-2", app, "read");
    FAIL() << "a taken username was registered";
  } catch (const failure& f) {
    EXPECT_EQ(f.code(), errc::unprocessable);
  }
  EXPECT_EQ(value("SELECT count(*) FROM accounts"), "1");
  EXPECT_EQ(value("SELECT count(*) FROM oauth_tokens"), "1");
  EXPECT_TRUE(pg::account_exists(*conn, a.id));
  EXPECT_FALSE(pg::account_exists(*conn, again.id));
}

TEST_F(AccountWrites, IssuingAUserTokenRecordsTheSignIn) {
  auto a = account("bob");
  pg::register_account(*conn, a, next(), "d0", app, "read");
  EXPECT_EQ(value("SELECT count(*) FROM users WHERE last_sign_in_at IS NULL"), "1");
  pg::issue_token(*conn, next(), "app-only", app, 0, "read");  // client_credentials: no user
  EXPECT_EQ(value("SELECT count(*) FROM users WHERE last_sign_in_at IS NULL"), "1");
  EXPECT_EQ(value("SELECT count(*) FROM oauth_tokens WHERE account_id IS NULL"), "1");
  pg::issue_token(*conn, next(), "user", app, a.id, "read write");
  EXPECT_EQ(value("SELECT count(*) FROM users WHERE last_sign_in_at IS NULL"), "0");
  auto t = pg::token_by_hash(*conn, "user");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->account_id, a.id);
  EXPECT_EQ(t->scopes, "read write");
}

TEST_F(AccountWrites, ACodeYieldsAtMostOneToken) {
  auto a = account("carol");
  pg::register_account(*conn, a, next(), "d0", app, "read");
  pg::insert_code(*conn, "code", app, a.id, "read", "urn:ietf:wg:oauth:2.0:oob", 600);
  // The wrong redirect URI or app is refused and writes nothing (the code stays usable).
  EXPECT_FALSE(pg::redeem_code(*conn, "code", app, "https://elsewhere.example", next(), "t-wrong"));
  EXPECT_FALSE(pg::redeem_code(*conn, "code", app + 1, "urn:ietf:wg:oauth:2.0:oob", next(), "t-wrong-app"));
  auto granted = pg::redeem_code(*conn, "code", app, "urn:ietf:wg:oauth:2.0:oob", next(), "t1");
  ASSERT_TRUE(granted);
  EXPECT_EQ(granted->account_id, a.id);
  EXPECT_EQ(granted->scopes, "read");
  EXPECT_FALSE(pg::redeem_code(*conn, "code", app, "urn:ietf:wg:oauth:2.0:oob", next(), "t2"));  // used
  EXPECT_EQ(value("SELECT string_agg(token_hash, ',' ORDER BY token_hash) FROM oauth_tokens"), "d0,t1");
}

TEST_F(AccountWrites, LookupsPagesAndInstanceStats) {
  auto a = account("Dave");
  auto b = account("erin");
  pg::register_account(*conn, a, next(), "da", app, "read");
  pg::register_account(*conn, b, next(), "db", app, "read");
  auto local = pg::account_ids_by_username(*conn, {"dave", "erin", "ghost"});
  EXPECT_EQ(local.size(), 2u);
  EXPECT_EQ(local["dave"], a.id);
  EXPECT_EQ(local["erin"], b.id);
  EXPECT_TRUE(pg::account_ids_by_username(*conn, {}).empty());
  auto page = pg::load_account_page(*conn, {{90, b.id}, {80, 424242}, {70, a.id}});
  ASSERT_EQ(page.accounts.size(), 2u);  // unknown ids skipped, order kept
  EXPECT_EQ(page.accounts[0].id, b.id);
  EXPECT_EQ(page.accounts[1].id, a.id);
  EXPECT_EQ(page.newest_cursor, 90);
  EXPECT_EQ(page.oldest_cursor, 70);
  auto st = pg::load_instance_stats(*conn);
  EXPECT_EQ(st.user_count, 2);
  EXPECT_EQ(st.status_count, 0);
  EXPECT_EQ(st.active_month, 0);  // nobody signed in or posted yet
  EXPECT_TRUE(st.registrations_open);
  pg::issue_token(*conn, next(), "sign-in", app, a.id, "read");
  pg::put_setting(*conn, "registrations", "\"closed\"");
  st = pg::load_instance_stats(*conn);
  EXPECT_EQ(st.active_month, 1);
  EXPECT_FALSE(st.registrations_open);
}
