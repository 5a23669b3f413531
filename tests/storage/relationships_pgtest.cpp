// Relationship change batches (storage/pg/relationships.hpp) against a real
// Postgres, with a connection alone: no actor system.
#include "common/errc.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/relationships.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
namespace pg = chorus::storage::pg;

namespace {
struct RelationshipChanges : ::testing::Test {
  test::temp_database db;
  std::unique_ptr<pqxx::connection> conn;
  id_generator ids{6};
  account_id alice, bob, carol, locked;

  void SetUp() override {
    conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pg::migrate(*conn);
    alice = account_id{next()};
    bob = account_id{next()};
    carol = account_id{next()};
    locked = account_id{next()};
    pqxx::work tx(*conn);
    pg::insert_account(tx, {alice, "alice", "a@example.com", "x", false, true, "en"});
    pg::insert_account(tx, {bob, "bob", "b@example.com", "x", false, true, "en"});
    pg::insert_account(tx, {carol, "carol", "c@example.com", "x", false, true, "en"});
    pg::insert_account(tx, {locked, "locked", "l@example.com", "x", false, true, "en"});
    tx.commit();
    pg::account_update u;
    u.locked = true;
    pg::update_account(*conn, locked, u);
  }
  std::int64_t next() { return static_cast<std::int64_t>(ids.next()); }
  pg::relation_item change(account_id me, account_id target, pg::relation_verb verb) {
    pg::relation_item item;
    item.change.me = me;
    item.change.target = target;
    item.change.verb = verb;
    item.row_id = next();
    return item;
  }
  std::string value(const std::string& sql) { return db.query_value(sql); }
  std::string counter(const char* col, std::int64_t id) {
    return value(std::string("SELECT ") + col + " FROM accounts WHERE id = " + std::to_string(id));
  }
};
} // namespace

TEST_F(RelationshipChanges, OneBatchCommitsTheGoodChangesAndFailsTheBadOnesAlone) {
  using v = pg::relation_verb;
  auto res = pg::apply_changes(*conn, {
                                        change(bob, alice, v::follow),
                                        change(alice, alice, v::follow),    // oneself
                                        change(carol, account_id{123456789}, v::follow), // no such account
                                        change(carol, alice, v::follow),
                                        change(bob, bob, v::block),         // oneself
                                        change(carol, locked, v::follow),   // a request
                                        change(alice, carol, v::mute),
                                      });
  ASSERT_EQ(res.size(), 7u);
  EXPECT_EQ(res[0].code, errc::ok);
  EXPECT_TRUE(res[0].row.following);
  EXPECT_EQ(res[0].row.id, alice);
  EXPECT_EQ(res[1].code, errc::unprocessable);
  EXPECT_EQ(res[1].error, "Validation failed: You cannot follow yourself");
  EXPECT_EQ(res[2].code, errc::not_found);
  EXPECT_EQ(res[3].code, errc::ok);
  EXPECT_EQ(res[4].code, errc::unprocessable);
  EXPECT_EQ(res[5].code, errc::ok);
  EXPECT_FALSE(res[5].row.following);
  EXPECT_TRUE(res[5].row.requested);
  EXPECT_EQ(res[6].code, errc::ok);
  EXPECT_TRUE(res[6].row.muting);
  EXPECT_EQ(counter("followers_count", alice), "2");
  EXPECT_EQ(value("SELECT sum(following_count) FROM accounts"), "2");
  EXPECT_EQ(value("SELECT count(*) FROM follow_requests"), "1");
  EXPECT_EQ(value("SELECT count(*) FROM blocks"), "0");
}

TEST_F(RelationshipChanges, BlocksRemoveFollowsAndForbidNewOnes) {
  using v = pg::relation_verb;
  ASSERT_EQ(pg::apply_changes(*conn, {change(bob, alice, v::follow), change(alice, bob, v::follow)})[1].code, errc::ok);
  auto res = pg::apply_changes(*conn, {change(alice, bob, v::block), change(bob, alice, v::follow)});
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[0].code, errc::ok);
  EXPECT_TRUE(res[0].row.blocking);
  EXPECT_FALSE(res[0].row.following);
  EXPECT_FALSE(res[0].row.followed_by);
  EXPECT_EQ(res[1].code, errc::forbidden);  // bob is blocked by alice (committed earlier in the same batch)
  EXPECT_EQ(counter("followers_count", alice), "0");
  EXPECT_EQ(counter("followers_count", bob), "0");
  auto undo = pg::apply_changes(*conn, {change(alice, bob, v::unblock)});
  EXPECT_EQ(undo.at(0).code, errc::ok);
  EXPECT_FALSE(undo[0].row.blocking);
}

TEST_F(RelationshipChanges, FollowRequestsAreAuthorizedOrRejectedOnce) {
  using v = pg::relation_verb;
  pg::apply_changes(*conn, {change(alice, locked, v::follow), change(bob, locked, v::follow)});
  auto res = pg::apply_changes(*conn, {change(locked, alice, v::authorize), change(locked, bob, v::reject),
                                       change(locked, carol, v::authorize)});  // carol never asked
  ASSERT_EQ(res.size(), 3u);
  EXPECT_EQ(res[0].code, errc::ok);
  EXPECT_TRUE(res[0].row.followed_by);
  EXPECT_EQ(res[1].code, errc::ok);
  EXPECT_FALSE(res[1].row.followed_by);
  EXPECT_EQ(res[2].code, errc::not_found);
  EXPECT_EQ(counter("followers_count", locked), "1");
  EXPECT_EQ(value("SELECT count(*) FROM follow_requests"), "0");
}
