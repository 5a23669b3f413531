// The conversation rules in SQL (storage/pg/conversations.cpp) against a real
// Postgres: jobs committed with direct statuses, their idempotent re-runs, the
// thread key, participant sets, blocks and removal.
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/conversations.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/statuses.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
namespace pg = chorus::storage::pg;

namespace {

struct ConversationRules : ::testing::Test {
  test::temp_database db;
  std::unique_ptr<pqxx::connection> conn;
  id_generator ids{1};
  account_id alice, bob, carol;

  void SetUp() override {
    conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pg::migrate(*conn);
    pqxx::work tx(*conn);
    alice = make_account(tx, "alice");
    bob = make_account(tx, "bob");
    carol = make_account(tx, "carol");
    tx.commit();
  }
  account_id make_account(pqxx::work& tx, const std::string& name) {
    account_id id{static_cast<std::int64_t>(ids.next())};
    pg::insert_account(tx, {id, name, name + "@example.com", "x", false, true, "en"});
    return id;
  }
  std::function<std::int64_t()> next() {
    return [this] { return static_cast<std::int64_t>(ids.next()); };
  }
  // A status created as the statuses actor does (create_statuses), mentioning `to`.
  status_id post(account_id who, std::vector<account_id> to, int vis = 3, status_id reply = status_id{}) {
    pg::new_status s;
    s.id = status_id{static_cast<std::int64_t>(ids.next())};
    s.account_id = who;
    s.text = s.content = "hi";
    s.mention_ids = std::move(to);
    s.visibility = static_cast<std::int16_t>(vis);
    s.in_reply_to_id = reply;
    auto r = pg::create_statuses(*conn, {s});
    EXPECT_EQ(r.front().result.id, s.id);
    return s.id;
  }
  std::vector<pg::conversation> of(account_id who) { return pg::conversations_page(*conn, who, {}); }
  int jobs(const std::string& kind) {
    return std::stoi(db.query_value("SELECT count(*) FROM jobs WHERE kind = '" + kind + "'"));
  }
  void remove(account_id who, status_id s) {
    auto out = pg::apply_actions(*conn, {pg::action_item{{who, s, pg::status_verb::remove, 0}, 0}});
    ASSERT_EQ(out.front().code, errc::ok) << out.front().error;
  }
};

} // namespace

TEST_F(ConversationRules, OnlyDirectStatusesEnqueueTheirJobInTheirTransaction) {
  post(alice, {bob}, 0);
  post(alice, {bob}, 2);
  EXPECT_EQ(jobs(pg::conversation_add_kind), 0);
  auto d = post(alice, {bob}, 3);
  EXPECT_EQ(jobs(pg::conversation_add_kind), 1);
  EXPECT_EQ(db.query_value("SELECT payload->>'status' FROM jobs WHERE kind = 'conversation.add'"), std::to_string(d.value()));
  remove(alice, d);
  EXPECT_EQ(jobs(pg::conversation_remove_kind), 1);
}

TEST_F(ConversationRules, AddIsIdempotentAndUnreadForRecipientsOnly) {
  auto s = post(alice, {bob, carol});
  auto touched = pg::add_to_conversations(*conn, s, next());
  EXPECT_EQ(touched.size(), 3u);
  EXPECT_TRUE(pg::add_to_conversations(*conn, s, next()).empty());  // the job ran again: nothing new
  ASSERT_EQ(of(alice).size(), 1u);
  EXPECT_FALSE(of(alice)[0].unread);
  EXPECT_TRUE(of(bob)[0].unread);
  EXPECT_EQ(of(bob)[0].participants, (std::vector<account_id>{std::min(alice, carol), std::max(alice, carol)}));
  EXPECT_EQ(of(carol)[0].last_status_id, s);
  // A public status does nothing, even if asked to.
  auto pub = post(alice, {bob}, 0);
  EXPECT_TRUE(pg::add_to_conversations(*conn, pub, next()).empty());
}

TEST_F(ConversationRules, RepliesJoinTheirThreadWhateverTheJobOrder) {
  auto root = post(alice, {bob});
  auto reply = post(bob, {alice}, 3, root);
  auto deeper = post(alice, {bob}, 3, reply);
  // The reply's job runs first: it still finds the thread by its root.
  pg::add_to_conversations(*conn, deeper, next());
  pg::add_to_conversations(*conn, root, next());
  pg::add_to_conversations(*conn, reply, next());
  ASSERT_EQ(of(bob).size(), 1u);
  EXPECT_EQ(of(bob)[0].last_status_id, deeper);
  EXPECT_TRUE(of(bob)[0].unread);  // the newest is alice's; bob's own older reply arriving last does not read it
  EXPECT_EQ(db.query_value("SELECT array_length(status_ids, 1) FROM account_conversations WHERE account_id = " +
                           std::to_string(bob.value())),
            "3");
  // Someone added to the thread starts another conversation (the participant set keys it).
  auto wider = post(alice, {bob, carol}, 3, deeper);
  pg::add_to_conversations(*conn, wider, next());
  EXPECT_EQ(of(bob).size(), 2u);
  EXPECT_EQ(of(bob)[0].last_status_id, wider);
}

TEST_F(ConversationRules, BlocksEitherWayLeaveTheRecipientOut) {
  pqxx::work tx(*conn);
  tx.exec_params("INSERT INTO blocks (id, account_id, target_account_id) VALUES ($1, $2, $3)",
                 static_cast<std::int64_t>(ids.next()), bob.value(), alice.value());
  tx.exec_params("INSERT INTO blocks (id, account_id, target_account_id) VALUES ($1, $2, $3)",
                 static_cast<std::int64_t>(ids.next()), alice.value(), carol.value());
  tx.commit();
  auto s = post(alice, {bob, carol});
  auto touched = pg::add_to_conversations(*conn, s, next());
  ASSERT_EQ(touched.size(), 1u);
  EXPECT_EQ(touched[0].account, alice);
  EXPECT_TRUE(of(bob).empty());
  EXPECT_TRUE(of(carol).empty());
}

TEST_F(ConversationRules, RemovalMovesLastStatusBackThenDeletesAndALateAddDoesNothing) {
  auto first = post(alice, {bob});
  auto second = post(bob, {alice}, 3, first);
  pg::add_to_conversations(*conn, first, next());
  pg::add_to_conversations(*conn, second, next());
  remove(bob, second);
  auto touched = pg::remove_from_conversations(*conn, second);
  EXPECT_EQ(touched.size(), 2u);
  EXPECT_EQ(of(alice)[0].last_status_id, first);
  EXPECT_TRUE(pg::remove_from_conversations(*conn, second).empty());  // again: nothing
  // A late add of the deleted status (its job ran after the delete) adds nothing.
  EXPECT_TRUE(pg::add_to_conversations(*conn, second, next()).empty());
  remove(alice, first);
  EXPECT_TRUE(pg::remove_from_conversations(*conn, first).empty());  // rows deleted, none left to report
  EXPECT_TRUE(of(alice).empty());
  EXPECT_TRUE(of(bob).empty());
}

TEST_F(ConversationRules, ReadAndDeleteTouchOnlyTheOwnersRow) {
  auto s = post(alice, {bob});
  pg::add_to_conversations(*conn, s, next());
  auto mine = of(bob)[0].id;
  EXPECT_FALSE(pg::mark_conversation_read(*conn, alice, mine));  // not alice's row
  EXPECT_FALSE(pg::delete_conversation(*conn, alice, mine));
  auto read = pg::mark_conversation_read(*conn, bob, mine);
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->unread);
  EXPECT_TRUE(pg::delete_conversation(*conn, bob, mine));
  EXPECT_TRUE(of(bob).empty());
  EXPECT_EQ(of(alice).size(), 1u);
  // The next status of the thread makes a new row for bob, unread.
  auto next_one = post(alice, {bob}, 3, s);
  pg::add_to_conversations(*conn, next_one, next());
  ASSERT_EQ(of(bob).size(), 1u);
  EXPECT_NE(of(bob)[0].id, mine);
  EXPECT_TRUE(of(bob)[0].unread);
}
