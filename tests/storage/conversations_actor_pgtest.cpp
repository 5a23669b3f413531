// The conversations actor (actors/conversations) on a real actor system with the
// real Postgres pool: the conversation.add/remove jobs change the rows and
// publish one `conversation` event per changed row to that participant's
// `direct` stream, rendered once by the installed renderer; a job that runs
// again publishes nothing. The events go through the real streams actor and
// Redis (tests/support/live_streams.hpp) to its HTTP boundary.
#include "actors/conversations/conversations.hpp"
#include "actors/db/pg_pool.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/conversations.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/statuses.hpp"
#include "support/actors.hpp"
#include "support/live_streams.hpp"
#include "support/harness.hpp"

#include <caf/all.hpp>
#include <mutex>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
using namespace chorus::actors;
using namespace std::chrono_literals;
namespace pg = chorus::storage::pg;

namespace {

struct ConversationsActor : ::testing::Test {
  test::actor_env env;
  test::temp_database db;
  id_generator ids{7};
  std::unique_ptr<pqxx::connection> conn;
  std::size_t seen = 0;
  pg_pool_actor pool;
  std::unique_ptr<test::live_streams> streams;
  conversations_actor conversations;
  account_id alice, bob;
  test::actor_stopper stop{env, {}};

  void SetUp() override {
    conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pg::migrate(*conn);
    pqxx::work tx(*conn);
    alice = account_id{next()};
    bob = account_id{next()};
    pg::insert_account(tx, {alice, "alice", "a@example.com", "x", false, true, "en"});
    pg::insert_account(tx, {bob, "bob", "b@example.com", "x", false, true, "en"});
    tx.commit();
    pg_pool_options po;
    po.connection = {db.dsn(), 2, 5000, "conversations_pgtest"};
    po.size = 1;
    pool = spawn_pg_pool(env.sys, po, env.reg, &env.metrics);
    streams = std::make_unique<test::live_streams>(env, pool);
    conversations_options opts;
    opts.streams = streams->streams;
    conversations = spawn_conversations(env.sys, opts, pool, ids, env.reg);
    stop.actors = {caf::actor_cast<caf::actor>(conversations)};
    for (auto& a : streams->actors())
      stop.actors.push_back(a);
    stop.actors.push_back(caf::actor_cast<caf::actor>(pool));
    streams->watch(alice);  // as if both had a streaming connection open
    streams->watch(bob);
  }
  std::int64_t next() { return static_cast<std::int64_t>(ids.next()); }
  status_id direct(account_id who, account_id to, status_id reply = status_id{}) {
    pg::new_status s;
    s.id = status_id{next()};
    s.account_id = who;
    s.text = s.content = "psst";
    s.mention_ids = {to};
    s.visibility = 3;
    s.in_reply_to_id = reply;
    pg::create_statuses(*conn, {s});
    return s.id;
  }
  caf::error run(const char* kind, status_id s) {
    return env.call(conversations, [](ok_atom) {},
                    job_work{job_id{next()}, "feeds", kind, "{\"status\":" + std::to_string(s.value()) + "}", 1});
  }
  // The renderer chorusd installs renders Mastodon JSON; this one shows what it was given.
  void install() {
    caf::anon_send(conversations, conversation_renderer_install{[](const model::conversation& c,
                                                                   const model::status_bundle& b) {
      nlohmann::json accounts = nlohmann::json::array();
      for (auto p : c.participants)
        accounts.push_back({{"id", p.value()}, {"loaded", b.accounts.count(p) > 0}});
      return nlohmann::json{{"owner", c.account_id.value()},
                            {"last", c.last_status_id.value()},
                            {"unread", c.unread},
                            {"accounts", accounts},
                            {"last_loaded", !b.statuses.empty() && b.statuses.front().id == c.last_status_id}}
        .dump();
    }});
  }
  // The next `n` events, by user (waits for them with a deadline).
  std::map<std::int64_t, nlohmann::json> events(std::size_t n) {
    std::map<std::int64_t, nlohmann::json> out;
    auto count = [&] { return streams->capture->size(); };
    EXPECT_TRUE(test::wait_until([&] { return count() >= seen + n; })) << count() - seen << " of " << n << " events";
    auto got = streams->capture->events();
    for (; seen < got.size(); ++seen) {
      auto& e = got[seen];
      EXPECT_EQ(e.keys, std::vector<std::string>{"direct@" + std::to_string(e.user.value())});
      EXPECT_EQ(e.event, "conversation");
      EXPECT_GT(e.seq, 0) << "sequenced in the participant's outbox";
      out[e.user.value()] = nlohmann::json::parse(e.payload);
    }
    return out;
  }
  std::int64_t counter(const std::string& name) { return env.counters("conversations").at(name); }
};

} // namespace

TEST_F(ConversationsActor, EachChangedConversationIsPublishedOnceToItsOwnersDirectStream) {
  install();
  auto s = direct(alice, bob);
  ASSERT_FALSE(run(pg::conversation_add_kind, s));
  auto ev = events(2);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[alice.value()]["owner"], alice.value());
  EXPECT_EQ(ev[alice.value()]["last"], s.value());
  EXPECT_EQ(ev[alice.value()]["unread"], false);
  EXPECT_EQ(ev[bob.value()]["unread"], true);
  EXPECT_EQ(ev[bob.value()]["accounts"], (nlohmann::json{{{"id", alice.value()}, {"loaded", true}}}));
  EXPECT_EQ(ev[bob.value()]["last_loaded"], true);
  EXPECT_EQ(counter("events"), 2);
  // The job again (at-least-once delivery): nothing changed, nothing published.
  ASSERT_FALSE(run(pg::conversation_add_kind, s));
  EXPECT_EQ(counter("events"), 2);
  // A reply, then its deletion: both move the conversation, both are published.
  auto r = direct(bob, alice, s);
  ASSERT_FALSE(run(pg::conversation_add_kind, r));
  ev = events(2);
  EXPECT_EQ(ev[alice.value()]["last"], r.value());
  EXPECT_EQ(ev[alice.value()]["unread"], true);
  EXPECT_EQ(ev[bob.value()]["unread"], false);
  auto out = pg::apply_actions(*conn, {pg::action_item{{bob, r, pg::status_verb::remove, 0}, 0}});
  ASSERT_EQ(out.front().code, errc::ok);
  ASSERT_FALSE(run(pg::conversation_remove_kind, r));
  ev = events(2);
  EXPECT_EQ(ev[alice.value()]["last"], s.value());
  EXPECT_EQ(ev[bob.value()]["last"], s.value());
  EXPECT_EQ(counter("events"), 6);
}

TEST_F(ConversationsActor, WithoutARendererTheJobStillRunsAndBadPayloadsFail) {
  auto s = direct(alice, bob);
  ASSERT_FALSE(run(pg::conversation_add_kind, s));  // no renderer installed yet: nothing rendered
  EXPECT_EQ(counter("events"), 0);
  EXPECT_EQ(pg::conversations_page(*conn, bob, {}).size(), 1u);
  auto err = env.call(conversations, [](ok_atom) {}, job_work{job_id{1}, "feeds", pg::conversation_add_kind, "{}", 1});
  EXPECT_EQ(code_of(err), errc::unprocessable);
  err = env.call(conversations, [](ok_atom) {}, job_work{job_id{2}, "feeds", "conversation.other", "{\"status\":1}", 1});
  EXPECT_EQ(code_of(err), errc::unprocessable);
}
