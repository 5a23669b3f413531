// Status creation and interaction batches (storage/pg/statuses.hpp) against a
// real Postgres, with a connection alone: no actor system.
#include "common/errc.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/feeds.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/statuses.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
namespace pg = chorus::storage::pg;

namespace {
struct StatusWrites : ::testing::Test {
  test::temp_database db;
  std::unique_ptr<pqxx::connection> conn;
  id_generator ids{5};
  account_id alice, bob, carol;

  void SetUp() override {
    conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pg::migrate(*conn);
    pqxx::work tx(*conn);
    alice = account_id{next()};
    bob = account_id{next()};
    carol = account_id{next()};
    pg::insert_account(tx, {alice, "alice", "a@example.com", "x", false, true, "en"});
    pg::insert_account(tx, {bob, "bob", "b@example.com", "x", false, true, "en"});
    pg::insert_account(tx, {carol, "carol", "c@example.com", "x", false, true, "en"});
    tx.commit();
  }
  std::int64_t next() { return static_cast<std::int64_t>(ids.next()); }
  pg::new_status make(account_id who, const std::string& text, std::int16_t vis = 0) {
    pg::new_status s;
    s.id = status_id{next()};
    s.account_id = who;
    s.text = text;
    s.content = "<p>" + text + "</p>";
    s.visibility = vis;
    return s;
  }
  status_id post(account_id who, const std::string& text, std::int16_t vis = 0) {
    auto r = pg::create_statuses(*conn, {make(who, text, vis)});
    return r.at(0).result.id;
  }
  std::string count(const std::string& sql) { return db.query_value("SELECT count(*) FROM " + sql); }
  pg::action_item act(account_id viewer, status_id id, pg::status_verb verb, std::int16_t vis = 0) {
    return {{viewer, id, verb, vis}, next()};
  }
};
} // namespace

TEST_F(StatusWrites, CreateStoresThePreparedValuesAndEnqueuesFanOut) {
  auto hello = make(alice, "hello @bob #News");
  hello.content = "<p>rendered by the caller</p>";
  hello.mention_ids = {bob};
  hello.tags = {"news"};
  auto orphan = make(bob, "reply");
  orphan.in_reply_to_id = status_id{999999};  // no such parent
  auto res = pg::create_statuses(*conn, {hello, orphan});
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[0].result.id, hello.id);
  EXPECT_FALSE(res[0].result.replayed);
  ASSERT_EQ(res[0].bundle.statuses.size(), 1u);
  const auto& s = res[0].bundle.statuses[0];
  EXPECT_EQ(s.content, "<p>rendered by the caller</p>");  // stored as given, not rendered again
  EXPECT_EQ(s.text, "hello @bob #News");
  EXPECT_EQ(s.mention_ids, std::vector<account_id>{bob});
  EXPECT_EQ(s.tags, std::vector<std::string>{"news"});
  EXPECT_EQ(res[0].bundle.accounts.count(alice), 1u);  // the author
  EXPECT_EQ(res[0].bundle.accounts.count(bob), 1u);    // and the mentioned
  EXPECT_TRUE(res[1].result.parent_missing);
  EXPECT_TRUE(res[1].bundle.statuses.empty());
  EXPECT_EQ(count("statuses"), "1");
  // The fan-out job committed with the status, only for the one created.
  EXPECT_EQ(count("jobs WHERE kind = '" + std::string(pg::fanout_kind) + "'"), "1");
  EXPECT_EQ(db.query_value("SELECT payload->>'status' FROM jobs WHERE queue = 'feeds'"), std::to_string(hello.id));
}

TEST_F(StatusWrites, ActionBatchFailsOnlyTheFailingItems) {
  auto open = post(alice, "open");
  auto direct = post(alice, "direct", 3);
  auto theirs = post(bob, "bob's");
  auto res = pg::apply_actions(*conn, {
                                        act(bob, open, pg::status_verb::favourite),
                                        act(bob, status_id{987654321}, pg::status_verb::favourite),   // no such status
                                        act(carol, open, pg::status_verb::bookmark),
                                        act(carol, direct, pg::status_verb::reblog),       // not visible to carol
                                        act(bob, open, pg::status_verb::remove),           // not bob's
                                        act(alice, theirs, pg::status_verb::favourite),
                                      });
  ASSERT_EQ(res.size(), 6u);
  EXPECT_EQ(res[0].code, errc::ok);
  ASSERT_EQ(res[0].bundle.statuses.size(), 1u);
  EXPECT_TRUE(res[0].bundle.statuses[0].favourited);
  EXPECT_EQ(res[0].bundle.statuses[0].favourites_count, 1);
  EXPECT_EQ(res[1].code, errc::not_found);
  EXPECT_TRUE(res[1].bundle.statuses.empty());
  EXPECT_EQ(res[2].code, errc::ok);
  EXPECT_TRUE(res[2].bundle.statuses.at(0).bookmarked);
  EXPECT_EQ(res[3].code, errc::not_found);
  EXPECT_EQ(res[4].code, errc::not_found);
  EXPECT_EQ(res[5].code, errc::ok);
  // The others committed; the failures wrote nothing.
  EXPECT_EQ(db.query_value("SELECT favourites_count FROM statuses WHERE id = " + std::to_string(open)), "1");
  EXPECT_EQ(db.query_value("SELECT favourites_count FROM statuses WHERE id = " + std::to_string(theirs)), "1");
  EXPECT_EQ(count("favourites"), "2");
  EXPECT_EQ(count("bookmarks"), "1");
  EXPECT_EQ(count("statuses WHERE reblog_of_id IS NOT NULL"), "0");
  EXPECT_EQ(count("statuses WHERE deleted_at IS NOT NULL"), "0");
}

TEST_F(StatusWrites, ReblogRulesAndTheirFeedJobs) {
  auto open = post(alice, "open");
  auto priv = post(alice, "followers only", 2);
  auto before = count("jobs WHERE queue = 'feeds'");
  auto item = act(bob, open, pg::status_verb::reblog);
  auto res = pg::apply_actions(*conn, {item, act(bob, priv, pg::status_verb::reblog)});
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[0].code, errc::ok);
  ASSERT_EQ(res[0].bundle.statuses.size(), 1u);
  EXPECT_EQ(res[0].bundle.statuses[0].id, item.new_id);  // the new reblog status
  EXPECT_EQ(res[0].bundle.statuses[0].reblog_of_id, open);
  EXPECT_EQ(res[0].bundle.reblogged.count(open), 1u);
  EXPECT_EQ(res[1].code, errc::not_found);  // bob may not see alice's private status
  EXPECT_EQ(db.query_value("SELECT reblogs_count FROM statuses WHERE id = " + std::to_string(open)), "1");
  EXPECT_EQ(std::stoi(count("jobs WHERE queue = 'feeds'")), std::stoi(before) + 1);  // the reblog's fan-out
  // Reblogging again returns the existing reblog; no second fan-out.
  auto again = pg::apply_actions(*conn, {act(bob, open, pg::status_verb::reblog)});
  EXPECT_EQ(again.at(0).bundle.statuses.at(0).id, item.new_id);
  EXPECT_EQ(std::stoi(count("jobs WHERE queue = 'feeds'")), std::stoi(before) + 1);
  // Unreblog names the removed reblog and enqueues its revocation.
  auto undo = pg::apply_actions(*conn, {act(bob, open, pg::status_verb::unreblog)});
  ASSERT_EQ(undo.at(0).code, errc::ok);
  EXPECT_EQ(undo[0].removed_id, item.new_id);
  EXPECT_EQ(db.query_value("SELECT reblogs_count FROM statuses WHERE id = " + std::to_string(open)), "0");
  EXPECT_EQ(count("jobs WHERE kind = '" + std::string(pg::revoke_kind) + "'"), "1");
}

TEST_F(StatusWrites, RemoveAnswersTheStatusAsItWasAndTakedownRemovesAny) {
  auto mine = post(alice, "to delete");
  auto other = post(bob, "to take down");
  auto res = pg::apply_actions(*conn, {act(alice, mine, pg::status_verb::remove),
                                       act(account_id{}, other, pg::status_verb::takedown),
                                       act(account_id{}, status_id{424242}, pg::status_verb::takedown)});
  ASSERT_EQ(res.size(), 3u);
  EXPECT_EQ(res[0].code, errc::ok);
  ASSERT_EQ(res[0].bundle.statuses.size(), 1u);
  EXPECT_EQ(res[0].bundle.statuses[0].text, "to delete");  // Mastodon's redraft
  EXPECT_FALSE(res[0].bundle.statuses[0].deleted);
  EXPECT_EQ(res[1].code, errc::ok);
  EXPECT_EQ(res[1].bundle.statuses.at(0).account_id, bob);
  EXPECT_EQ(res[2].code, errc::not_found);
  EXPECT_EQ(count("statuses WHERE deleted_at IS NOT NULL"), "2");
  EXPECT_EQ(count("jobs WHERE kind = '" + std::string(pg::revoke_kind) + "'"), "2");
  EXPECT_EQ(db.query_value("SELECT statuses_count FROM accounts WHERE id = " + std::to_string(alice)), "0");
}
