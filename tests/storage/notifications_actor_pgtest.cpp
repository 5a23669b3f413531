// The notifications actor (actors/notifications) on a real actor system with the
// real Postgres pool: a notify job stores its notifications and publishes each
// shown one, rendered once by the installed renderer, to the recipient's `user`
// and `user:notification` streams; filtered ones and a job that runs again
// publish nothing; bad payloads fail the attempt. The events go through the real
// streams actor and Redis (tests/support/live_streams.hpp) to its HTTP boundary.
#include "actors/db/pg_pool.hpp"
#include "actors/notifications/notifications.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/notifications.hpp"
#include "storage/pg/statuses.hpp"
#include "support/actors.hpp"
#include "support/live_streams.hpp"
#include "support/harness.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

using namespace chorus;
using namespace chorus::actors;
namespace pg = chorus::storage::pg;

namespace {

struct NotificationsActor : ::testing::Test {
  test::actor_env env;
  test::temp_database db;
  id_generator ids{9};
  std::unique_ptr<pqxx::connection> conn;
  pg_pool_actor pool;
  std::unique_ptr<test::live_streams> streams;
  notifications_actor notifications;
  account_id alice, bob, carol;
  test::actor_stopper stop{env, {}};

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
    tx.exec("DELETE FROM jobs");  // the sign-ups (no admin here)
    tx.commit();
    pg_pool_options po;
    po.connection = {db.dsn(), 2, 5000, "notifications_pgtest"};
    po.size = 1;
    pool = spawn_pg_pool(env.sys, po, env.reg, &env.metrics);
    streams = std::make_unique<test::live_streams>(env, pool);
    notifications_options opts;
    opts.streams = streams->streams;
    notifications = spawn_notifications(env.sys, opts, pool, env.reg);
    stop.actors = {caf::actor_cast<caf::actor>(notifications)};
    for (auto& a : streams->actors())
      stop.actors.push_back(a);
    stop.actors.push_back(caf::actor_cast<caf::actor>(pool));
    for (auto who : {alice, bob, carol})
      streams->watch(who);  // as if each had a streaming connection open
  }
  std::int64_t next() { return static_cast<std::int64_t>(ids.next()); }
  status_id post(account_id who) {
    pg::new_status s;
    s.id = status_id{next()};
    s.account_id = who;
    s.text = s.content = "hello";
    pg::create_statuses(*conn, {s});
    return s.id;
  }
  // A favourite and the payload of the notify job it enqueued.
  std::string favourite(account_id who, status_id s) {
    pg::action_item item;
    item.action = {who, s, pg::status_verb::favourite, 0};
    item.new_id = next();
    EXPECT_EQ(pg::apply_actions(*conn, {item}).at(0).code, errc::ok);
    pqxx::work tx(*conn);
    auto r = tx.exec("DELETE FROM jobs WHERE queue = 'notifications' RETURNING payload::text");
    tx.commit();
    return r.empty() ? "" : r[0][0].as<std::string>();
  }
  caf::error run(const std::string& payload) {
    return env.call(notifications, [](ok_atom) {}, job_work{job_id{next()}, "notifications", "notify", payload, 1});
  }
  // The renderer chorusd installs renders Mastodon JSON; this one shows what it was given.
  void install() {
    caf::anon_send(notifications, notification_renderer_install{[](const model::notification& n,
                                                                   const model::status_bundle& b) {
      return nlohmann::json{{"id", n.id.value()},
                            {"type", n.type},
                            {"to", n.account_id.value()},
                            {"from_loaded", b.accounts.count(n.from_account_id) > 0},
                            {"status_loaded", !b.statuses.empty() && b.statuses.front().id == n.status}}
        .dump();
    }});
  }
  std::size_t count() { return streams->capture->size(); }
  std::int64_t counter(const std::string& name) { return env.counters("notifications").at(name); }
};

} // namespace

TEST_F(NotificationsActor, EachShownNotificationIsPublishedOnceToTheRecipientsStreams) {
  install();
  auto s = post(alice);
  auto job = favourite(bob, s);
  ASSERT_FALSE(job.empty());
  ASSERT_FALSE(run(job));
  ASSERT_TRUE(test::wait_until([&] { return count() >= 1; }));
  {
    auto e = streams->capture->events().front();
    EXPECT_EQ(e.user, alice);
    auto a = std::to_string(alice.value());
    EXPECT_EQ(e.keys, (std::vector<std::string>{"user@" + a, "user:notification@" + a}));
    EXPECT_EQ(e.event, "notification");
    EXPECT_GT(e.seq, 0) << "sequenced in alice's outbox";
    auto p = nlohmann::json::parse(e.payload);
    EXPECT_EQ(p["type"], "favourite");
    EXPECT_EQ(p["to"], alice.value());
    EXPECT_EQ(p["from_loaded"], true);
    EXPECT_EQ(p["status_loaded"], true);
    EXPECT_EQ(p["id"], pg::list_notifications(*conn, alice, {}, {}).at(0).id.value());
  }
  EXPECT_EQ(counter("published"), 1);
  // The job again (at-least-once delivery): nothing new, nothing published.
  ASSERT_FALSE(run(job));
  EXPECT_EQ(counter("created"), 1);
  EXPECT_EQ(counter("published"), 1);
  // A filtered notification is stored, not published.
  model::notification_policy p{"filter", "", "", "", "", 0, 0};
  pg::set_policy(*conn, alice, p);
  ASSERT_FALSE(run(favourite(carol, s)));
  EXPECT_EQ(counter("filtered"), 1);
  EXPECT_EQ(counter("published"), 1);
  EXPECT_EQ(count(), 1u);
  // The endpoints' queries go through the same actor.
  notification_query q;
  q.op = notification_op::list;
  q.viewer = alice;
  q.include_filtered = true;
  std::size_t listed = 0;
  ASSERT_FALSE(env.call(notifications, [&](notification_view& v) { listed = v.items.size(); }, q));
  EXPECT_EQ(listed, 2u);
}

TEST_F(NotificationsActor, WithoutARendererTheJobStillRunsAndBadPayloadsFail) {
  auto s = post(alice);
  ASSERT_FALSE(run(favourite(bob, s)));  // no renderer installed yet: stored, nothing published
  EXPECT_EQ(counter("created"), 1);
  EXPECT_EQ(counter("published"), 0);
  EXPECT_EQ(pg::list_notifications(*conn, alice, {}, {}).size(), 1u);
  EXPECT_EQ(code_of(run("{}")), errc::unprocessable);
  EXPECT_EQ(code_of(run("not json")), errc::unprocessable);
  EXPECT_EQ(counter("bad_jobs"), 2);
  EXPECT_EQ(count(), 0u);
}
