// Notification rules (storage/pg/notifications.hpp) against a real Postgres,
// with a connection alone: events are made by the real storage writes (statuses,
// interactions, relationship changes, registrations), which enqueue notify jobs
// in their transaction; the test runs those jobs through deliver() as the
// notifications actor would.
#include "common/errc.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/notifications.hpp"
#include "storage/pg/relationships.hpp"
#include "storage/pg/statuses.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

using namespace chorus;
namespace pg = chorus::storage::pg;

namespace {

struct Notifications : ::testing::Test {
  test::temp_database db;
  std::unique_ptr<pqxx::connection> conn;
  id_generator ids{7};
  account_id admin, alice, bob, carol;

  void SetUp() override {
    conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pg::migrate(*conn);
    admin = account_id{next()};
    alice = account_id{next()};
    bob = account_id{next()};
    carol = account_id{next()};
    pqxx::work tx(*conn);
    pg::insert_account(tx, {admin, "admin", "ad@example.com", "x", true, true, "en"});
    pg::insert_account(tx, {alice, "alice", "a@example.com", "x", false, true, "en"});
    pg::insert_account(tx, {bob, "bob", "b@example.com", "x", false, true, "en"});
    pg::insert_account(tx, {carol, "carol", "c@example.com", "x", false, true, "en"});
    // Accounts older than the new-account threshold unless a test says otherwise.
    tx.exec("UPDATE accounts SET created_at = now() - interval '60 days'");
    tx.commit();
  }
  std::int64_t next() { return static_cast<std::int64_t>(ids.next()); }
  std::string value(const std::string& sql) { return db.query_value(sql); }

  // Runs (and deletes) every queued notify job, like the notifications actor; returns what was created.
  std::vector<model::notification> run_jobs() {
    std::vector<model::notification> out;
    std::vector<std::pair<std::int64_t, std::string>> jobs;
    {
      pqxx::work tx(*conn);
      for (const auto& r : tx.exec("SELECT id, payload::text FROM jobs WHERE queue = 'notifications' ORDER BY id"))
        jobs.emplace_back(r[0].as<std::int64_t>(), r[1].as<std::string>());
    }
    for (auto& [id, payload] : jobs) {
      auto created = pg::deliver(*conn, event_of(payload));
      out.insert(out.end(), created.begin(), created.end());
      pqxx::work tx(*conn);
      tx.exec_params("DELETE FROM jobs WHERE id = $1", id);
      tx.commit();
    }
    return out;
  }
  static pg::notify_event event_of(const std::string& payload) {
    auto j = nlohmann::json::parse(payload);
    return {j["type"], j["to"], j["from"], j["status"], j["activity"], j["at"]};
  }
  void relate(account_id me, account_id target, pg::relation_verb verb, bool notify = false, bool hide = true,
              std::int64_t seconds = 0) {
    pg::relation_item item;
    item.change.me = me;
    item.change.target = target;
    item.change.verb = verb;
    item.change.notify = notify;
    item.change.mute_notifications = hide;
    item.change.mute_seconds = seconds;
    item.row_id = next();
    auto r = pg::apply_changes(*conn, {item});
    ASSERT_EQ(r.at(0).code, errc::ok) << r[0].error;
  }
  status_id post(account_id who, std::vector<account_id> mentions = {}, int visibility = 0, status_id reply_to = {}) {
    pg::new_status s;
    s.id = status_id{next()};
    s.account_id = who;
    s.text = s.content = "hello";
    s.mention_ids = std::move(mentions);
    s.visibility = static_cast<std::int16_t>(visibility);
    s.in_reply_to_id = reply_to;
    auto r = pg::create_statuses(*conn, {s});
    EXPECT_EQ(r.at(0).result.id, s.id);
    return s.id;
  }
  void act(account_id who, status_id id, pg::status_verb verb) {
    pg::action_item item;
    item.action.viewer = who;
    item.action.id = id;
    item.action.verb = verb;
    item.new_id = next();
    auto r = pg::apply_actions(*conn, {item});
    ASSERT_EQ(r.at(0).code, errc::ok) << r[0].error;
  }
  std::vector<model::notification> of(account_id who, pg::notification_filter f = {}) {
    return pg::list_notifications(*conn, who, f, {});
  }
  static std::vector<std::string> types(const std::vector<model::notification>& ns) {
    std::vector<std::string> out;
    for (auto& n : ns)
      out.push_back(n.type);
    return out;
  }
  void policy(account_id who, const std::string& field, const std::string& v) {
    model::notification_policy p{"", "", "", "", "", 0, 0};
    if (field == "not_following") p.for_not_following = v;
    if (field == "not_followers") p.for_not_followers = v;
    if (field == "new_accounts") p.for_new_accounts = v;
    if (field == "private_mentions") p.for_private_mentions = v;
    pg::set_policy(*conn, who, p);
  }
};

} // namespace

TEST_F(Notifications, EveryTypeComesFromItsEvent) {
  auto signups = run_jobs();  // the registrations of SetUp
  ASSERT_EQ(signups.size(), 3u);
  for (auto& n : signups) {
    EXPECT_EQ(n.type, "admin.sign_up");
    EXPECT_EQ(n.account_id, admin);
    EXPECT_EQ(n.group_key.rfind("admin.sign_up-", 0), 0u) << n.group_key;
  }
  relate(alice, bob, pg::relation_verb::follow, /*notify=*/true);  // follow (bob), and alice hears of bob's posts
  pg::account_update u;
  u.locked = true;
  pg::update_account(*conn, carol, u);
  relate(alice, carol, pg::relation_verb::follow);  // follow_request (carol)
  relate(bob, alice, pg::relation_verb::follow);    // follow (alice)
  auto own = post(alice);
  auto mention = post(bob, {alice});               // mention + status (alice)
  act(bob, own, pg::status_verb::favourite);       // favourite (alice)
  act(bob, own, pg::status_verb::reblog);          // reblog (alice)
  act(alice, own, pg::status_verb::bookmark);      // nothing
  run_jobs();
  auto a = types(of(alice));
  std::sort(a.begin(), a.end());
  EXPECT_EQ(a, (std::vector<std::string>{"favourite", "follow", "mention", "reblog", "status"}));
  EXPECT_EQ(types(of(bob)), (std::vector<std::string>{"follow"}));
  EXPECT_EQ(types(of(carol)), (std::vector<std::string>{"follow_request"}));
  auto mentions = of(alice, {{"mention"}, {}, 0, false});
  ASSERT_EQ(mentions.size(), 1u);
  EXPECT_EQ(mentions[0].status, mention);
  EXPECT_EQ(mentions[0].from_account_id, bob);
  auto favs = of(alice, {{"favourite"}, {}, 0, false});
  ASSERT_EQ(favs.size(), 1u);
  EXPECT_EQ(favs[0].group_key.rfind("favourite-" + std::to_string(own.value()) + "-", 0), 0u);
  // Undone activities and deleted statuses are not shown.
  act(bob, own, pg::status_verb::unfavourite);
  act(bob, own, pg::status_verb::unreblog);
  EXPECT_TRUE(of(alice, {{"favourite", "reblog"}, {}, 0, false}).empty());
  act(bob, mention, pg::status_verb::remove);
  EXPECT_TRUE(of(alice, {{"mention", "status"}, {}, 0, false}).empty());
  // moderation_warning: one call for the moderation issue.
  {
    pqxx::work tx(*conn);
    pg::enqueue_moderation_warning(tx, bob.value(), admin.value(), 4242);
    tx.commit();
  }
  run_jobs();
  EXPECT_EQ(of(bob, {{"moderation_warning"}, {}, 0, false}).size(), 1u);
}

TEST_F(Notifications, ARetriedJobNeverNotifiesTwice) {
  run_jobs();
  auto s = post(alice);
  act(bob, s, pg::status_verb::favourite);
  pg::notify_event ev;
  {
    pqxx::work tx(*conn);
    ev = event_of(tx.exec1("SELECT payload::text FROM jobs WHERE queue = 'notifications' AND payload->>'type' = 'favourite'")[0]
                    .as<std::string>());
  }
  EXPECT_EQ(pg::deliver(*conn, ev).size(), 1u);
  EXPECT_EQ(pg::deliver(*conn, ev).size(), 0u);  // the retry
  run_jobs();                                    // the job itself, after the retries
  EXPECT_EQ(value("SELECT count(*) FROM notifications WHERE type = 'favourite'"), "1");
}

TEST_F(Notifications, BlockedEitherWayAndMutedSendersAreDropped) {
  run_jobs();
  auto s = post(alice);
  act(alice, s, pg::status_verb::favourite);  // self: nothing
  relate(bob, alice, pg::relation_verb::block);  // alice blocked by bob
  post(bob, {alice});                            // a mention from the blocker
  relate(alice, carol, pg::relation_verb::mute, false, /*hide=*/true);
  act(carol, s, pg::status_verb::favourite);     // muted with notifications hidden
  run_jobs();
  EXPECT_TRUE(of(alice).empty());
  relate(alice, carol, pg::relation_verb::mute, false, /*hide=*/false);
  auto s2 = post(alice);
  act(carol, s2, pg::status_verb::favourite);    // muted, notifications shown
  run_jobs();
  EXPECT_EQ(of(alice).size(), 1u);
  // An expired mute no longer counts.
  relate(alice, carol, pg::relation_verb::mute, false, true, 1);
  {
    pqxx::work tx(*conn);
    tx.exec("UPDATE mutes SET expires_at = now() - interval '1 second'");
    tx.commit();
  }
  auto s3 = post(alice);
  act(carol, s3, pg::status_verb::favourite);
  run_jobs();
  EXPECT_EQ(of(alice).size(), 2u);
}

TEST_F(Notifications, PoliciesFilterIntoRequestsOrDrop) {
  run_jobs();
  auto s = post(alice);
  policy(alice, "not_following", "filter");
  act(bob, s, pg::status_verb::favourite);  // alice does not follow bob: filtered
  post(bob, {alice});                       // a mention: filtered, the request's last status
  run_jobs();
  EXPECT_TRUE(of(alice).empty());
  EXPECT_EQ(pg::list_notifications(*conn, alice, {{}, {}, 0, true}, {}).size(), 2u);
  auto reqs = pg::list_requests(*conn, alice, {});
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].from_account_id, bob);
  EXPECT_EQ(reqs[0].notifications_count, 2);
  EXPECT_NE(reqs[0].last_status.value(), 0);
  auto p = pg::get_policy(*conn, alice);
  EXPECT_EQ(p.pending_requests_count, 1);
  EXPECT_EQ(p.pending_notifications_count, 2);
  // Accepting moves them into the list and allows bob from now on.
  EXPECT_EQ(pg::accept_requests(*conn, alice, {reqs[0].id}).size(), 1u);
  EXPECT_EQ(of(alice).size(), 2u);
  auto s2 = post(alice);
  act(bob, s2, pg::status_verb::favourite);
  run_jobs();
  EXPECT_EQ(of(alice).size(), 3u);
  EXPECT_TRUE(pg::list_requests(*conn, alice, {}).empty());
  // drop: nothing stored at all.
  policy(alice, "not_following", "drop");
  act(carol, s2, pg::status_verb::favourite);
  run_jobs();
  EXPECT_EQ(value("SELECT count(*) FROM notifications WHERE account_id = " + std::to_string(alice.value()) +
                  " AND from_account_id = " + std::to_string(carol.value())),
            "0");
  // Dismissing a request removes its filtered notifications.
  policy(alice, "not_following", "accept");
  policy(alice, "not_followers", "filter");  // carol does not follow alice
  act(carol, s, pg::status_verb::favourite);
  run_jobs();
  auto r2 = pg::list_requests(*conn, alice, {});
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(pg::dismiss_requests(*conn, alice, {r2[0].id}).size(), 1u);
  EXPECT_TRUE(pg::list_requests(*conn, alice, {}).empty());
  EXPECT_EQ(value("SELECT count(*) FROM notifications WHERE filtered"), "0");
  EXPECT_TRUE(pg::dismiss_requests(*conn, bob, {r2[0].id}).empty());  // not bob's
}

TEST_F(Notifications, NewAccountsAndPrivateMentions) {
  run_jobs();
  policy(alice, "new_accounts", "filter");
  {
    pqxx::work tx(*conn);
    tx.exec_params("UPDATE accounts SET created_at = now() - interval '2 days' WHERE id = $1", carol.value());
    tx.commit();
  }
  auto s = post(alice);
  act(carol, s, pg::status_verb::favourite);  // carol is new: filtered
  act(bob, s, pg::status_verb::favourite);    // bob is not: shown
  run_jobs();
  EXPECT_EQ(types(of(alice)), (std::vector<std::string>{"favourite"}));
  EXPECT_EQ(of(alice)[0].from_account_id, bob);
  // Private mentions from someone alice does not follow are filtered by default…
  auto dm = post(bob, {alice}, 3);
  run_jobs();
  EXPECT_EQ(of(alice, {{"mention"}, {}, 0, false}).size(), 0u);
  // … unless they answer alice's own private mention of them.
  auto mine = post(alice, {bob}, 3);
  post(bob, {alice}, 3, mine);
  run_jobs();
  EXPECT_EQ(of(alice, {{"mention"}, {}, 0, false}).size(), 1u);
  // … or come from staff (an admin),
  post(admin, {alice}, 3);
  run_jobs();
  EXPECT_EQ(of(alice, {{"mention"}, {}, 0, false}).size(), 2u);
  // … or come from someone alice follows.
  relate(alice, carol, pg::relation_verb::follow);
  post(carol, {alice}, 3);
  run_jobs();
  EXPECT_EQ(of(alice, {{"mention"}, {}, 0, false}).size(), 3u);
  (void)dm;
}

TEST_F(Notifications, GroupedPagesEndInsideAGroup) {
  run_jobs();
  auto s = post(alice);
  std::vector<account_id> fans;
  for (int i = 0; i < 5; ++i) {
    auto a = account_id{next()};
    pqxx::work tx(*conn);
    pg::insert_account(tx, {a, "fan" + std::to_string(i), "f" + std::to_string(i) + "@example.com", "x", false, true, "en"});
    tx.exec_params("UPDATE accounts SET created_at = now() - interval '60 days' WHERE id = $1", a.value());
    tx.commit();
    fans.push_back(a);
  }
  run_jobs();  // the admin's sign-ups
  act(fans[0], s, pg::status_verb::favourite);
  act(fans[1], s, pg::status_verb::favourite);
  run_jobs();
  post(bob, {alice});  // a mention between favourites
  run_jobs();
  act(fans[2], s, pg::status_verb::favourite);
  act(fans[3], s, pg::status_verb::favourite);
  run_jobs();
  // Newest first: fav(3), fav(2), mention, fav(1), fav(0): two groups, the favourites' twice.
  auto all = of(alice);
  ASSERT_EQ(all.size(), 5u);
  model::page p;
  p.limit = 2;
  auto first = pg::grouped_notifications(*conn, alice, {}, {}, p);
  ASSERT_EQ(first.groups.size(), 2u);
  EXPECT_EQ(first.groups[0].type, "favourite");
  EXPECT_EQ(first.groups[0].notifications_count, 4);  // every one up to the page's newest
  ASSERT_EQ(first.groups[0].sample_account_ids.size(), 4u);
  EXPECT_EQ(first.groups[0].sample_account_ids[0], fans[3]);
  EXPECT_EQ(first.groups[0].page_max_id, all[0].id);
  EXPECT_EQ(first.groups[0].page_min_id, all[1].id);  // the page ends inside the group
  EXPECT_EQ(first.groups[1].type, "mention");
  EXPECT_EQ(first.groups[1].group_key, "ungrouped-" + std::to_string(all[2].id.value()));
  p.max_id = first.items.back().id;
  auto second = pg::grouped_notifications(*conn, alice, {}, {}, p);
  ASSERT_EQ(second.groups.size(), 1u);
  EXPECT_EQ(second.groups[0].group_key, first.groups[0].group_key);  // the same group again, on its own page
  EXPECT_EQ(second.groups[0].notifications_count, 2);                // counted up to this page
  EXPECT_EQ(second.groups[0].page_max_id, all[3].id);
  EXPECT_EQ(second.groups[0].page_min_id, all[4].id);
  // Without favourite in grouped_types every favourite is its own group.
  model::page all_page;
  auto ungrouped = pg::grouped_notifications(*conn, alice, {}, {"follow"}, all_page);
  EXPECT_EQ(ungrouped.groups.size(), 5u);
  EXPECT_EQ(pg::grouped_unread_count(*conn, alice, {}, {}, 100), 2);  // the favourites, the mention
  pg::set_markers(*conn, alice, {{"notifications", all[2].id.value(), 0, ""}});
  EXPECT_EQ(pg::unread_count(*conn, alice, {}, 100), 2);
  EXPECT_EQ(pg::unread_count(*conn, alice, {}, 1), 1);  // the limit caps the count
  EXPECT_EQ(pg::grouped_unread_count(*conn, alice, {}, {}, 100), 1);
}

TEST_F(Notifications, OnlyEventsThatCanNotifyEnqueueAJob) {
  run_jobs();
  auto jobs = [&] { return value("SELECT count(*) FROM jobs WHERE queue = 'notifications'"); };
  auto plain = post(alice);               // no mention, nobody asked to be notified
  act(alice, plain, pg::status_verb::favourite);  // one's own
  act(alice, plain, pg::status_verb::reblog);     // one's own
  EXPECT_EQ(jobs(), "0");
  post(alice, {bob});  // a mention
  EXPECT_EQ(jobs(), "1");
  run_jobs();
  relate(bob, alice, pg::relation_verb::follow, /*notify=*/true);
  run_jobs();
  post(alice);  // bob asked to hear of alice's posts
  EXPECT_EQ(jobs(), "1");
  run_jobs();
  EXPECT_EQ(of(bob, {{"status"}, {}, 0, false}).size(), 1u);
}

// Undoing an activity deletes its notification in the same transaction
// (migration 0013's triggers), whichever path undoes it: the rows are gone, not
// hidden at read time.
TEST_F(Notifications, UndoneActivitiesTakeTheirNotificationsAlong) {
  run_jobs();
  auto rows = [&](const std::string& type) {
    return value("SELECT count(*) FROM notifications WHERE type = '" + type + "'");
  };
  auto s = post(alice);
  act(bob, s, pg::status_verb::favourite);
  act(bob, s, pg::status_verb::reblog);
  relate(bob, alice, pg::relation_verb::follow);
  auto mention = post(bob, {alice});
  pg::account_update u;
  u.locked = true;
  pg::update_account(*conn, carol, u);
  relate(alice, carol, pg::relation_verb::follow);  // a follow request to carol
  run_jobs();
  for (auto t : {"favourite", "reblog", "follow", "mention", "follow_request"})
    EXPECT_EQ(rows(t), "1") << t;
  act(bob, s, pg::status_verb::unfavourite);
  EXPECT_EQ(rows("favourite"), "0");
  act(bob, s, pg::status_verb::unreblog);
  EXPECT_EQ(rows("reblog"), "0");
  relate(bob, alice, pg::relation_verb::unfollow);
  EXPECT_EQ(rows("follow"), "0");
  act(bob, mention, pg::status_verb::remove);
  EXPECT_EQ(rows("mention"), "0");
  relate(carol, alice, pg::relation_verb::reject);
  EXPECT_EQ(rows("follow_request"), "0");
  // A new favourite is a new activity: notified again, shown again.
  act(bob, s, pg::status_verb::favourite);
  run_jobs();
  EXPECT_EQ(types(of(alice, {{"favourite"}, {}, 0, false})), (std::vector<std::string>{"favourite"}));
  // A block removes the follow, and with it its notification.
  relate(bob, alice, pg::relation_verb::follow);
  run_jobs();
  EXPECT_EQ(rows("follow"), "1");
  relate(alice, bob, pg::relation_verb::block);
  EXPECT_EQ(rows("follow"), "0");
  // Deleting a status takes every notification about it (the favourite of it too).
  relate(alice, bob, pg::relation_verb::unblock);
  auto s2 = post(alice);
  act(carol, s2, pg::status_verb::favourite);
  run_jobs();
  auto about_s2 = "SELECT count(*) FROM notifications WHERE status_id = " + std::to_string(s2.value());
  EXPECT_EQ(value(about_s2), "1");
  act(alice, s2, pg::status_verb::remove);
  EXPECT_EQ(value(about_s2), "0");
}

// A job that runs after its activity was undone stores nothing (it checks, and
// locks, the activity before inserting).
TEST_F(Notifications, AJobRunAfterTheUndoStoresNothing) {
  run_jobs();
  auto s = post(alice);
  act(bob, s, pg::status_verb::favourite);
  act(bob, s, pg::status_verb::unfavourite);
  act(bob, s, pg::status_verb::reblog);
  act(bob, s, pg::status_verb::unreblog);
  relate(bob, alice, pg::relation_verb::follow);
  relate(bob, alice, pg::relation_verb::unfollow);
  auto m = post(carol, {alice});
  act(carol, m, pg::status_verb::remove);
  EXPECT_NE(value("SELECT count(*) FROM jobs WHERE queue = 'notifications'"), "0");
  EXPECT_TRUE(run_jobs().empty());
  EXPECT_EQ(value("SELECT count(*) FROM notifications WHERE account_id = " + std::to_string(alice.value())), "0");
}

// A status of an author with hundreds of followers asking to be notified: one
// INSERT for all of them (counted by a statement-level trigger), each notified
// once, the blocked one not, a filtered one into a request; a retry adds nothing.
TEST_F(Notifications, ManyNotifyFollowersAreOneInsert) {
  run_jobs();
  constexpr int n = 300;
  std::vector<account_id> fans;
  {
    pqxx::work tx(*conn);
    for (int i = 0; i < n; ++i) {
      account_id a{next()};
      pg::insert_account(tx, {a, "nf" + std::to_string(i), "nf" + std::to_string(i) + "@example.com", "x", false, true, "en"});
      tx.exec_params("INSERT INTO follows (id, account_id, target_account_id, notify) VALUES ($1, $2, $3, true)", next(),
                     a.value(), alice.value());
      fans.push_back(a);
    }
    tx.exec("UPDATE accounts SET created_at = now() - interval '60 days'");
    tx.exec("DELETE FROM jobs WHERE queue = 'notifications'");  // the sign-ups
    tx.exec("CREATE TABLE insert_statements (n int); INSERT INTO insert_statements VALUES (0);"
            "CREATE FUNCTION count_insert() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN UPDATE insert_statements SET n = n + 1; RETURN NULL; END $$;"
            "CREATE TRIGGER count_insert AFTER INSERT ON notifications FOR EACH STATEMENT EXECUTE FUNCTION count_insert()");
    tx.commit();
  }
  relate(fans[0], alice, pg::relation_verb::block);  // fans[0] blocks alice: dropped (and unfollowed)
  relate(fans[1], alice, pg::relation_verb::follow, /*notify=*/true);
  policy(fans[1], "not_followers", "filter");        // alice does not follow fans[1]: filtered
  auto s = post(alice);
  auto created = run_jobs();
  EXPECT_EQ(created.size(), static_cast<std::size_t>(n - 1));
  EXPECT_EQ(value("SELECT n FROM insert_statements"), "1");
  EXPECT_EQ(value("SELECT count(DISTINCT account_id) FROM notifications WHERE type = 'status' AND status_id = " +
                  std::to_string(s.value())),
            std::to_string(n - 1));
  EXPECT_EQ(value("SELECT count(*) FROM notifications WHERE type = 'status' AND account_id = " +
                  std::to_string(fans[0].value())),
            "0");
  EXPECT_EQ(value("SELECT filtered FROM notifications WHERE account_id = " + std::to_string(fans[1].value())), "t");
  auto reqs = pg::list_requests(*conn, fans[1], {});
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].from_account_id, alice);
  EXPECT_EQ(of(fans[2], {{"status"}, {}, 0, false}).size(), 1u);
  // The same job again (a retry): nothing new, one more statement.
  pg::notify_event ev{"status.created", 0, alice.value(), s.value(), s.value(), 0};
  EXPECT_TRUE(pg::deliver(*conn, ev).empty());
  EXPECT_EQ(value("SELECT count(*) FROM notifications WHERE type = 'status'"), std::to_string(n - 1));
}
