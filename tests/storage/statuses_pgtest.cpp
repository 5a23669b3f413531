// The status-creation batch statement against a real Postgres.
#include "actors/db/batcher.hpp"
#include "actors/db/pg_pool.hpp"
#include "actors/statuses/statuses.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/statuses.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <map>
#include <set>

using namespace chorus;
namespace pg = chorus::storage::pg;

namespace {
struct StatusBatch : ::testing::Test {
  test::temp_database db;
  std::unique_ptr<pqxx::connection> conn;
  id_generator ids{1};
  account_id alice, bob;

  void SetUp() override {
    conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pg::migrate(*conn);
    pqxx::work tx(*conn);
    alice = account_id{static_cast<std::int64_t>(ids.next())};
    bob = account_id{static_cast<std::int64_t>(ids.next())};
    pg::insert_account(tx, {alice, "alice", "a@example.com", "x", false, true, "en"});
    pg::insert_account(tx, {bob, "bob", "b@example.com", "x", false, true, "en"});
    tx.commit();
  }
  actors::pg_pool_actor spawn_pool(test::actor_env& env) {
    actors::pg_pool_options po;
    po.connection = {db.dsn(), 5, 5000, "t"};
    po.size = 2;
    return actors::spawn_pg_pool(env.sys, po, env.reg, &env.metrics);
  }
  // `n` more accounts named <prefix>0…, committed.
  std::vector<account_id> make_accounts(const std::string& prefix, int n) {
    std::vector<account_id> out;
    pqxx::work tx(*conn);
    for (int i = 0; i < n; ++i) {
      auto id = static_cast<std::int64_t>(ids.next());
      auto name = prefix + std::to_string(i);
      pg::insert_account(tx, {id, name, name + "@example.com", "x", false, true, "en"});
      out.emplace_back(id);
    }
    tx.commit();
    return out;
  }
  pg::new_status make(account_id who, const std::string& text, const std::string& key = {},
                      status_id reply = status_id{}) {
    pg::new_status s;
    s.id = status_id{static_cast<std::int64_t>(ids.next())};
    s.account_id = who;
    s.text = text;
    s.idempotency_key = key;
    s.in_reply_to_id = reply;
    // Storage stores what the caller prepared (the statuses actor does this).
    auto p = text::parse(text);
    std::map<std::string, account_id> local{{"alice", alice}, {"bob", bob}};
    s.content = text::render(text, "https://c.example",
                             [&](const std::string& u) { return local.count(text::lower(u)) > 0; });
    for (auto& m : p.mentions)
      if (auto it = local.find(text::lower(m)); it != local.end())
        s.mention_ids.push_back(it->second);
    s.tags = p.tags;
    return s;
  }
};
} // namespace

TEST_F(StatusBatch, OneBatchWritesRowsMentionsTagsAndCounters) {
  auto root = make(alice, "root");
  {
    pqxx::work tx(*conn);
    pg::insert_statuses(tx, {root});
    tx.commit();
  }
  std::vector<pg::new_status> batch;
  for (int i = 0; i < 50; ++i)
    batch.push_back(make(i % 2 ? alice : bob, "hi @alice @bob #t" + std::to_string(i % 5), "", root.id));
  batch.push_back(make(alice, "dup", "k"));
  batch.push_back(make(alice, "dup again", "k"));    // same key in the same batch
  batch.push_back(make(bob, "orphan", "", status_id{424242})); // no such parent
  pqxx::work tx(*conn);
  auto res = pg::insert_statuses(tx, batch);
  tx.commit();
  ASSERT_EQ(res.size(), batch.size());
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(res[i].id, batch[i].id);
    EXPECT_FALSE(res[i].replayed);
  }
  EXPECT_EQ(res[50].id, batch[50].id);
  EXPECT_TRUE(res[51].replayed);
  EXPECT_EQ(res[51].id, batch[50].id);
  EXPECT_TRUE(res[52].parent_missing);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM statuses"), "52");
  EXPECT_EQ(db.query_value("SELECT replies_count FROM statuses WHERE id = " + std::to_string(root.id)), "50");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM mentions"), "100");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM tags"), "5");
  // The content the caller rendered is stored as it is.
  EXPECT_EQ(db.query_value("SELECT content FROM statuses WHERE id = " + std::to_string(batch[0].id)), batch[0].content);
  EXPECT_NE(batch[0].content.find("/@alice"), std::string::npos) << batch[0].content;
  EXPECT_EQ(db.query_value("SELECT statuses_count FROM accounts WHERE username = 'alice'"), "27");  // root + 25 + dup
  EXPECT_EQ(db.query_value("SELECT statuses_count FROM accounts WHERE username = 'bob'"), "25");
  // A later batch with a used key replays it.
  pqxx::work tx2(*conn);
  auto again = pg::insert_statuses(tx2, {make(alice, "dup 3", "k")});
  tx2.commit();
  EXPECT_TRUE(again[0].replayed);
  EXPECT_EQ(again[0].id, batch[50].id);
}

TEST_F(StatusBatch, ConcurrentCreatesThroughTheActorShareTransactions) {
  test::actor_env env;
  auto pool = spawn_pool(env);
  id_generator gen{2};
  auto statuses = actors::spawn_statuses(env.sys, {}, pool, gen, env.reg);
  test::actor_stopper stop{env, {caf::actor_cast<caf::actor>(statuses), caf::actor_cast<caf::actor>(pool)}};
  // Hold the table so the first batch waits and the rest pile up behind it.
  pqxx::connection holder(db.dsn());
  pqxx::work lock_tx(holder);
  lock_tx.exec("LOCK TABLE statuses IN EXCLUSIVE MODE");
  auto results = std::make_shared<test::async_results<actors::status_view>>();
  constexpr int n = 300;
  for (int i = 0; i < n; ++i) {
    actors::status_create c;
    c.who.account_id = i % 2 ? alice : bob;
    c.fields.text = "post " + std::to_string(i);
    c.fields.idempotency_key = i < 20 ? "same" : "";  // 20 concurrent retries of one post (10 per account)
    test::send_async<actors::status_view>(env.sys, statuses, c, results);
  }
  ASSERT_TRUE(test::wait_until([&] { return env.counters("batcher", "statuses.create")["queued"] > 0; }));
  lock_tx.commit();
  ASSERT_TRUE(test::wait_until([&] { return results->total() == n; }, std::chrono::seconds(30)));
  EXPECT_TRUE(results->failed.empty());
  std::set<std::string> distinct;
  for (auto& v : results->ok) {
    ASSERT_EQ(v.bundle.statuses.size(), 1u);
    distinct.insert(std::to_string(v.bundle.statuses[0].id));
  }
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(n - 18));  // one per account for the key
  EXPECT_EQ(db.query_value("SELECT count(*) FROM statuses"), std::to_string(n - 18));
  auto c = env.counters("batcher", "statuses.create");
  EXPECT_LT(c["batches"], n / 10) << "creates were not batched";
  EXPECT_EQ(c["items"], n);
}

TEST_F(StatusBatch, ConcurrentInteractionsCommitTogetherAndFailAlone) {
  auto fans = make_accounts("fan", 40);  // to favourite one status
  auto target = make(alice, "popular");
  {
    pqxx::work tx(*conn);
    pg::insert_statuses(tx, {target});
    tx.commit();
  }
  test::actor_env env;
  auto pool = spawn_pool(env);
  id_generator gen{3};
  auto statuses = actors::spawn_statuses(env.sys, {}, pool, gen, env.reg);
  test::actor_stopper stop{env, {caf::actor_cast<caf::actor>(statuses), caf::actor_cast<caf::actor>(pool)}};
  pqxx::connection holder(db.dsn());
  pqxx::work lock_tx(holder);
  lock_tx.exec("LOCK TABLE favourites IN EXCLUSIVE MODE");
  auto results = std::make_shared<test::async_results<actors::status_view>>();
  for (auto fan : fans)
    test::send_async<actors::status_view>(
      env.sys, statuses, actors::status_action{fan, target.id, actors::status_verb::favourite, 0}, results);
  // One bad item in the same batches: it fails alone.
  test::send_async<actors::status_view>(
    env.sys, statuses, actors::status_action{fans[0], status_id{987654321}, actors::status_verb::favourite, 0}, results);
  ASSERT_TRUE(test::wait_until([&] { return env.counters("batcher", "statuses.actions")["queued"] > 10; }));
  lock_tx.commit();
  ASSERT_TRUE(test::wait_until([&] { return results->total() == fans.size() + 1; }, std::chrono::seconds(30)));
  EXPECT_EQ(results->ok.size(), fans.size());
  ASSERT_EQ(results->failed.size(), 1u);
  EXPECT_EQ(results->failed[0], errc::not_found);
  EXPECT_EQ(db.query_value("SELECT favourites_count FROM statuses WHERE id = " + std::to_string(target.id)), "40");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM favourites"), "40");
  auto c = env.counters("batcher", "statuses.actions");
  EXPECT_LT(c["batches"], 10) << "interactions were not batched";
}

#include "actors/accounts/relationships.hpp"

TEST_F(StatusBatch, ConcurrentFollowsCommitTogetherWithRightCounters) {
  auto fans = make_accounts("follower", 30);
  test::actor_env env;
  auto pool = spawn_pool(env);
  id_generator gen{4};
  auto rels = actors::spawn_relationships(env.sys, pool, gen, env.reg);
  test::actor_stopper stop{env, {caf::actor_cast<caf::actor>(rels), caf::actor_cast<caf::actor>(pool)}};
  pqxx::connection holder(db.dsn());
  pqxx::work lock_tx(holder);
  lock_tx.exec("LOCK TABLE follows IN EXCLUSIVE MODE");
  auto results = std::make_shared<test::async_results<pg::relationship_row>>();
  for (auto fan : fans)
    test::send_async<pg::relationship_row>(env.sys, rels,
                                           actors::relation_change{fan, alice, actors::relation_verb::follow}, results);
  // Following oneself fails alone.
  test::send_async<pg::relationship_row>(env.sys, rels,
                                         actors::relation_change{alice, alice, actors::relation_verb::follow}, results);
  ASSERT_TRUE(test::wait_until([&] { return env.counters("batcher", "relationships.changes")["queued"] > 10; }));
  lock_tx.commit();
  ASSERT_TRUE(test::wait_until([&] { return results->total() == fans.size() + 1; }, std::chrono::seconds(30)));
  EXPECT_EQ(results->ok.size(), fans.size());
  ASSERT_EQ(results->failed.size(), 1u) << "first failure: " << to_string(results->failed[0]);
  EXPECT_EQ(results->failed[0], errc::unprocessable);
  for (auto& r : results->ok)
    EXPECT_TRUE(r.following);
  EXPECT_EQ(db.query_value("SELECT followers_count FROM accounts WHERE id = " + std::to_string(alice)), "30");
  EXPECT_EQ(db.query_value("SELECT sum(following_count) FROM accounts"), "30");
  EXPECT_LT(env.counters("batcher", "relationships.changes")["batches"], 10);
}
