// Home timelines served by the feed actors, through a real chorusd: fan-out on
// write, revocation (delete, unfollow, block, mute), passivation/reactivation
// through the Redis mirror, read-time merge of large authors, deep pages, and
// Mastodon's visibility rules. Every wait is a condition with a deadline.
#include "storage/redis/feeds.hpp"
#include "support/client.hpp"

#include <algorithm>
#include <csignal>
#include <gtest/gtest.h>
#include <regex>
#include <set>

using namespace chorus::test;

namespace {

struct Feeds : client_fixture {
  std::vector<std::string> home(const who& w, const std::string& query = "limit=40") {
    auto r = get(d->url("/api/v1/timelines/home?" + query), auth(w));
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> ids;
    if (r.status == 200)
      for (auto& s : r.json())
        ids.push_back(s["id"]);
    return ids;
  }
  bool has(const who& w, const std::string& id) {
    auto ids = home(w);
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }
  // Waits until `id` is (or is no longer) in w's home timeline.
  bool eventually_has(const who& w, const std::string& id, bool present = true) {
    return wait_until([&] { return has(w, id) == present; }, std::chrono::seconds(10));
  }
  // A counter of the feed manager in the live actor listing.
  std::int64_t feeds_counter(const std::string& name) {
    auto r = get(d->url("/api/v1/chorus/admin/actors?kind=feeds"));
    auto body = r.json();
    for (auto& a : body["actors"])
      if (a["kind"] == "feeds")
        return a["counters"].value(name, std::int64_t{-1});
    ADD_FAILURE() << "no feeds actor listed: " << r.status << " " << r.body;
    return -1;
  }
};

} // namespace

TEST_F(Feeds, PostReachesFollowersAndAuthorAtOnce) {
  start();
  auto alice = user("alice"), bob = user("bob"), carol = user("carol");
  follow(alice, bob);
  EXPECT_TRUE(home(alice).empty());  // alice's feed is live now: the post must be pushed to it
  auto id = post(bob, "hello followers");
  EXPECT_TRUE(has(bob, id)) << "the author sees their own status on the very next read";
  EXPECT_TRUE(eventually_has(alice, id));
  EXPECT_FALSE(has(carol, id)) << "carol does not follow bob";
  EXPECT_GE(metric("chorus_fanout_lag_seconds_count"), 1.0);
  EXPECT_GE(feeds_counter("pushes"), 1);
}

TEST_F(Feeds, PagingWalksLinkHeadersPastTheCachedWindow) {
  start({{"CHORUS_FEED_CACHE_SIZE", "20"}});
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  std::vector<std::string> posted;
  for (int i = 0; i < 45; ++i)
    posted.push_back(post(bob, "status " + std::to_string(i)));
  std::reverse(posted.begin(), posted.end());  // newest first
  ASSERT_TRUE(wait_until([&] { return home(alice, "limit=1") == std::vector<std::string>{posted.front()}; }));
  // Walk 7 per page with the Link header's max_id; the cache holds 20, so later
  // pages come from Postgres. Together they are exactly what bob posted.
  std::vector<std::string> walked;
  std::string url = d->url("/api/v1/timelines/home?limit=7");
  for (int pages = 0; pages < 20 && !url.empty(); ++pages) {
    auto r = get(url, auth(alice));
    ASSERT_EQ(r.status, 200) << r.body;
    if (r.json().empty())
      break;
    for (auto& s : r.json())
      walked.push_back(s["id"]);
    std::smatch m;
    auto link = r.header("link");
    url = std::regex_search(link, m, std::regex("<([^>]+)>; rel=\"next\"")) ? std::string(m[1]) : "";
  }
  EXPECT_EQ(walked, posted);
  EXPECT_GE(metric("chorus_feed_deep_reads_total"), 1.0);
  // min_id pages forward from the oldest: the 3 statuses just after posted[44].
  auto forward = home(alice, "limit=3&min_id=" + posted.back());
  EXPECT_EQ(forward, (std::vector<std::string>{posted[41], posted[42], posted[43]}));
  // since_id: newest first, down to since_id.
  auto since = home(alice, "limit=40&since_id=" + posted[3]);
  EXPECT_EQ(since, (std::vector<std::string>{posted[0], posted[1], posted[2]}));
}

TEST_F(Feeds, DeleteUnfollowBlockAndMuteRevoke) {
  start();
  auto alice = user("alice"), bob = user("bob"), carol = user("carol"), dave = user("dave"), erin = user("erin");
  for (auto* w : {&bob, &carol, &dave, &erin})
    follow(alice, *w);
  home(alice);  // live
  auto b = post(bob, "bob"), c = post(carol, "carol"), dv = post(dave, "dave"), e = post(erin, "erin");
  auto carol_reblog_of_erin = act(carol, "/api/v1/statuses/" + e + "/reblog").json()["id"].get<std::string>();
  for (auto& id : {b, c, dv, e, carol_reblog_of_erin})
    ASSERT_TRUE(eventually_has(alice, id)) << id;
  auto before = metric("chorus_revocation_lag_seconds_count");

  // Delete: bob removes his status.
  auto del = http("DELETE", d->url("/api/v1/statuses/" + b), "", auth(bob));
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(eventually_has(alice, b, false));
  // Unfollow: carol's statuses leave alice's timeline.
  act(alice, "/api/v1/accounts/" + carol.id + "/unfollow");
  EXPECT_FALSE(has(alice, c)) << "applied before the next read";
  EXPECT_FALSE(has(alice, carol_reblog_of_erin));
  // Mute dave; block erin (which also removes reblogs of erin by others).
  act(alice, "/api/v1/accounts/" + dave.id + "/mute");
  EXPECT_FALSE(has(alice, dv));
  act(alice, "/api/v1/accounts/" + erin.id + "/block");
  EXPECT_FALSE(has(alice, e));
  EXPECT_TRUE(wait_until([&] { return metric("chorus_revocation_lag_seconds_count") >= before + 4; }))
    << "every revocation reached Redis too";
  // The Redis mirror agrees: a restarted node (cold feeds) shows the same.
  d->stop();
  auto env = std::map<std::string, std::string>{};
  d = std::make_unique<chorusd>(db.dsn(), env);
  auto after = home(alice);
  for (auto& id : {b, c, dv, e, carol_reblog_of_erin})
    EXPECT_TRUE(std::find(after.begin(), after.end(), id) == after.end()) << id;
  EXPECT_GE(metric("chorus_feed_cold_loads_total{source=\"redis\"}"), 1.0) << "loaded from the mirror";
}

TEST_F(Feeds, BlockRemovesBothDirections) {
  start();
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  follow(bob, alice);
  home(alice);
  home(bob);
  auto a = post(alice, "alice says"), b = post(bob, "bob says");
  ASSERT_TRUE(eventually_has(alice, b));
  ASSERT_TRUE(eventually_has(bob, a));
  act(bob, "/api/v1/accounts/" + alice.id + "/block");
  EXPECT_FALSE(has(bob, a));
  EXPECT_FALSE(has(alice, b)) << "the blocked side loses the blocker's statuses too";
  auto fanned_out = metric("chorus_fanout_lag_seconds_count");
  auto later = post(bob, "after the block");
  EXPECT_TRUE(has(bob, later));
  // Once its fan-out is done (the lag histogram counts it), it must not be there.
  ASSERT_TRUE(wait_until([&] { return metric("chorus_fanout_lag_seconds_count") > fanned_out; }));
  EXPECT_FALSE(has(alice, later)) << "never delivered";
}

TEST_F(Feeds, PassivationAndReactivationKeepTheTimeline) {
  start({{"CHORUS_FEED_MAX_LIVE", "1"}});
  auto alice = user("alice"), bob = user("bob"), carol = user("carol");
  follow(alice, bob);
  follow(carol, bob);
  std::vector<std::string> posted;
  for (int i = 0; i < 5; ++i)
    posted.push_back(post(bob, "p" + std::to_string(i)));
  ASSERT_TRUE(wait_until([&] { return home(alice).size() == 5; }));
  auto before = home(alice);
  auto passivations = feeds_counter("passivations");
  home(carol);  // only one feed may live: alice's is passivated
  EXPECT_TRUE(wait_until([&] { return feeds_counter("passivations") > passivations; }));
  EXPECT_EQ(feeds_counter("live"), 1);
  auto redis_loads = metric("chorus_feed_cold_loads_total{source=\"redis\"}");
  EXPECT_EQ(home(alice), before) << "reactivated from the Redis mirror";
  EXPECT_GT(metric("chorus_feed_cold_loads_total{source=\"redis\"}"), redis_loads);
  // A post while alice's feed is passivated reaches her through the mirror.
  home(carol);
  auto while_away = post(bob, "while you were away");
  EXPECT_TRUE(eventually_has(alice, while_away));
}

TEST_F(Feeds, IdleFeedsArePassivated) {
  start({{"CHORUS_FEED_IDLE_MS", "200"}});
  auto alice = user("alice");
  home(alice);
  EXPECT_GE(feeds_counter("live"), 1);
  EXPECT_TRUE(wait_until([&] { return feeds_counter("live") == 0; }, std::chrono::seconds(10)));
  EXPECT_GE(feeds_counter("passivations"), 1);
}

TEST_F(Feeds, LargeAuthorsAreMergedAtReadTime) {
  start({{"CHORUS_FEED_FANOUT_MAX_FOLLOWERS", "1"}});
  auto star = user("star"), alice = user("alice"), bob = user("bob"), carol = user("carol");
  follow(alice, star);
  follow(bob, star);  // 2 followers > 1: star is a large author
  home(alice);
  auto pushes = feeds_counter("pushes");
  auto id = post(star, "to my many fans");
  auto reply_to_stranger = post(star, "@carol hi", "public", post(carol, "carol's thread"));
  EXPECT_TRUE(eventually_has(alice, id));
  EXPECT_TRUE(has(bob, id));
  EXPECT_FALSE(has(carol, id));
  EXPECT_FALSE(has(alice, reply_to_stranger)) << "reply to someone alice does not follow";
  EXPECT_TRUE(wait_until([&] { return feeds_counter("ring_merges") >= 2; }));
  EXPECT_EQ(feeds_counter("pushes"), pushes) << "nothing was pushed to followers";
  // The ring keeps up with deletes.
  ASSERT_EQ(http("DELETE", d->url("/api/v1/statuses/" + id), "", auth(star)).status, 200);
  EXPECT_TRUE(eventually_has(alice, id, false));
}

TEST_F(Feeds, VisibilityRulesFollowMastodon) {
  start();
  auto alice = user("alice"), bob = user("bob"), dave = user("dave");
  follow(alice, bob);
  act(alice, "/api/v1/accounts/" + dave.id + "/follow", "reblogs=false");
  home(alice);
  auto priv = post(bob, "followers only", "private");
  auto dm_alice = post(bob, "@alice secret", "direct");
  auto dm_other = post(bob, "@dave secret", "direct");
  auto stranger = post(user("zed"), "zed's status");
  auto reply_stranger = post(bob, "@zed re", "public", stranger);
  auto reply_dave = post(bob, "@dave re", "public", post(dave, "dave's status"));
  auto dave_reblog = act(dave, "/api/v1/statuses/" + priv + "/reblog");  // private: not rebloggable
  EXPECT_EQ(dave_reblog.status, 404) << "dave cannot even see it";
  auto dave_reblog_public = act(dave, "/api/v1/statuses/" + reply_dave + "/reblog").json()["id"].get<std::string>();
  auto marker = post(bob, "marker");
  ASSERT_TRUE(eventually_has(alice, marker));
  auto ids = home(alice);
  auto in = [&](const std::string& id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
  EXPECT_TRUE(in(priv));
  EXPECT_TRUE(in(dm_alice));
  EXPECT_FALSE(in(dm_other));
  EXPECT_FALSE(in(stranger));
  EXPECT_FALSE(in(reply_stranger));
  EXPECT_TRUE(in(reply_dave)) << "alice follows dave";
  EXPECT_FALSE(in(dave_reblog_public)) << "alice hides dave's reblogs";
  // A cold rebuild from Postgres (no live feed, no mirror) applies the same rules.
  d->stop();
  chorus::storage::redis::context redis("127.0.0.1", std::stoi(env("CHORUS_TEST_REDIS_PORT")),
                                        std::chrono::milliseconds(2000));
  redis.call({"DEL", chorus::storage::redis::home_key(std::stoll(alice.id))});
  d = std::make_unique<chorusd>(db.dsn());
  std::set<std::string> warm(ids.begin(), ids.end());
  auto cold = home(alice);
  EXPECT_EQ(std::set<std::string>(cold.begin(), cold.end()), warm);
  EXPECT_GE(metric("chorus_feed_cold_loads_total{source=\"postgres\"}"), 1.0);
}

TEST_F(Feeds, FavouriteFlagsAndCountersStayFresh) {
  start();
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  home(alice);
  auto id = post(bob, "like me");
  ASSERT_TRUE(eventually_has(alice, id));
  ASSERT_EQ(act(alice, "/api/v1/statuses/" + id + "/favourite").status, 200);
  ASSERT_EQ(act(alice, "/api/v1/statuses/" + id + "/bookmark").status, 200);
  auto r = get(d->url("/api/v1/timelines/home"), auth(alice)).json();
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0]["id"], id);
  EXPECT_EQ(r[0]["favourited"], true);
  EXPECT_EQ(r[0]["bookmarked"], true);
  EXPECT_EQ(r[0]["favourites_count"], 1);
  act(alice, "/api/v1/statuses/" + id + "/unfavourite");
  r = get(d->url("/api/v1/timelines/home"), auth(alice)).json();
  EXPECT_EQ(r[0]["favourited"], false);
  EXPECT_EQ(r[0]["favourites_count"], 0);
}

TEST_F(Feeds, ModeratorTakedownRevokesStatusAndItsReblogs) {
  start();
  auto alice = user("alice"), bob = user("bob"), carol = user("carol");
  follow(alice, bob);
  follow(alice, carol);
  home(alice);
  auto id = post(bob, "something that breaks the rules");
  auto reblog = act(carol, "/api/v1/statuses/" + id + "/reblog").json()["id"].get<std::string>();
  auto other = post(carol, "carol's own");
  ASSERT_TRUE(eventually_has(alice, id));
  ASSERT_TRUE(eventually_has(alice, reblog));
  ASSERT_TRUE(eventually_has(alice, other));
  auto before = metric("chorus_revocation_lag_seconds_count");
  // Only admins (loopback without forwarding headers, or the admin token) may take down.
  auto refused = http("DELETE", d->url("/api/v1/chorus/admin/statuses/" + id), "", {"X-Forwarded-For: 203.0.113.9"});
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_TRUE(has(alice, id));
  auto r = http("DELETE", d->url("/api/v1/chorus/admin/statuses/" + id));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["removed"], true);
  EXPECT_TRUE(eventually_has(alice, id, false));
  EXPECT_TRUE(eventually_has(bob, id, false)) << "gone from the author's own timeline too";
  EXPECT_FALSE(has(alice, reblog)) << "reblogs go with it";
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + id), auth(alice)).status, 404);
  EXPECT_EQ(http("DELETE", d->url("/api/v1/chorus/admin/statuses/" + id)).status, 404) << "already removed";
  EXPECT_EQ(http("DELETE", d->url("/api/v1/chorus/admin/statuses/nope")).status, 404);
  EXPECT_TRUE(wait_until([&] { return metric("chorus_revocation_lag_seconds_count") > before; }));
  EXPECT_TRUE(has(alice, other)) << "other statuses stay";
}

TEST_F(Feeds, RedisDownFeedsRebuildFromPostgresAndKeepServing) {
  private_redis redis;
  redis.start();
  start({{"CHORUS_REDIS_PORT", std::to_string(redis.port())}, {"CHORUS_FEED_MAX_LIVE", "1"},
         {"CHORUS_REDIS_TIMEOUT_MS", "300"}, {"CHORUS_REDIS_RECONNECT_MAX_MS", "200"}});
  auto alice = user("alice"), bob = user("bob"), carol = user("carol");
  follow(alice, bob);
  auto id = post(bob, "before the outage");
  ASSERT_TRUE(eventually_has(alice, id));
  redis.stop();
  home(carol);  // passivates alice's feed: her next read must activate without Redis
  auto during = post(bob, "during the outage");
  EXPECT_TRUE(eventually_has(alice, during)) << "rebuilt from Postgres";
  EXPECT_TRUE(has(alice, id));
  EXPECT_GE(metric("chorus_feed_cold_loads_total{source=\"postgres\"}"), 2.0);
  redis.start();
  auto after = post(bob, "after the outage");
  EXPECT_TRUE(eventually_has(alice, after));
}

// Two nodes form a cluster (tests/e2e/cluster_e2e.cpp has three): whichever owns
// alice's feed, reads through either node see the fan-out and the revocation.
TEST_F(Feeds, TwoNodesServeTheSameFeed) {
  std::map<std::string, std::string> env{{"CHORUS_FEED_PAGE_CACHE_MS", "0"}};
  start(env);
  auto b_env = env;
  b_env["CHORUS_NODE_NAME"] = "second";
  chorusd second(db.dsn(), b_env);
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  auto on_b = [&](const std::string& query = "limit=40") {
    auto r = get(second.url("/api/v1/timelines/home?" + query), auth(alice));
    std::vector<std::string> ids;
    if (r.status == 200)
      for (auto& s : r.json())
        ids.push_back(s["id"]);
    return ids;
  };
  auto b_has = [&](const std::string& id) {
    auto ids = on_b();
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  ASSERT_TRUE(wait_until([&] {
    return get(second.url("/api/v1/chorus/admin/cluster")).body.find("\"alive\"") != std::string::npos;
  })) << "the two nodes join";
  home(alice);   // alice's feed is live at its owner
  on_b();
  auto id = post(bob, "posted through the first node");
  EXPECT_TRUE(wait_until([&] { return b_has(id); })) << "fan-out on node 1 reaches the live feed on node 2";
  act(alice, "/api/v1/accounts/" + bob.id + "/unfollow");
  EXPECT_TRUE(wait_until([&] { return !b_has(id); })) << "revocation on node 1 reaches node 2";
}

TEST_F(Feeds, FanOutAndRevocationJobsOutliveTheNodeThatCommittedThem) {
  // A node without a feeds pool commits statuses (and a deletion) whose fan-out
  // and revocation jobs it never runs, and dies by SIGKILL; the next node runs them.
  start({{"CHORUS_JOBS_QUEUES", "default:2"}});
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  home(alice);  // alice's mirror exists and must receive the post
  auto kept = post(bob, "delivered by the next node");
  auto gone = post(bob, "deleted before anyone ran its fan-out");
  ASSERT_EQ(http("DELETE", d->url("/api/v1/statuses/" + gone), "", auth(bob)).status, 200);
  auto jobs = [&](const std::string& kind) {
    return db.query_value("SELECT count(*) FROM jobs WHERE queue = 'feeds' AND kind = '" + kind + "'");
  };
  EXPECT_EQ(jobs("feed.fanout"), "2") << "committed with the statuses";
  EXPECT_EQ(jobs("feed.revoke"), "1") << "committed with the deletion";
  // Not run: still queued, never claimed. (Whether alice already sees `kept` is
  // not a test of this: the follow's merge of bob's recent statuses may run after
  // the post under load.)
  EXPECT_EQ(db.query_value("SELECT count(*) FROM jobs WHERE queue = 'feeds' AND state = 'queued' AND attempts = 0"),
            "3") << "no node has run the fan-out or revocation";
  d->proc().signal(SIGKILL);
  EXPECT_EQ(d->proc().wait(std::chrono::seconds(10)), 128 + SIGKILL);
  d = std::make_unique<chorusd>(db.dsn());
  EXPECT_TRUE(eventually_has(alice, kept)) << "the next node ran the fan-out job";
  EXPECT_TRUE(wait_until([&] { return db.query_value("SELECT count(*) FROM jobs WHERE queue = 'feeds'") == "0"; }));
  EXPECT_FALSE(has(alice, gone));
}
