// Follows, follow requests, blocks and mutes, and what they do to visibility.
#include "support/client.hpp"

#include <algorithm>
#include <gtest/gtest.h>

using namespace chorus::test;

namespace {

struct Relationships : client_fixture {
  void SetUp() override { start(); }
  http_response rel(const who& me, const std::string& path, const std::string& body = "") { return act(me, path, body); }
  nlohmann::json account(const who& w) { return get(d->url("/api/v1/accounts/" + w.id)).json(); }
};

} // namespace

TEST_F(Relationships, FollowAndUnfollowKeepCounters) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto r = rel(alice, "/api/v1/accounts/" + bob.id + "/follow", "reblogs=false&notify=true");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["following"], true);
  EXPECT_EQ(r.json()["showing_reblogs"], false);
  EXPECT_EQ(r.json()["notifying"], true);
  EXPECT_EQ(rel(alice, "/api/v1/accounts/" + bob.id + "/follow").status, 200);  // idempotent
  EXPECT_EQ(account(alice)["following_count"], 1);
  EXPECT_EQ(account(bob)["followers_count"], 1);
  auto both = get(d->url("/api/v1/accounts/relationships?id[]=" + alice.id + "&id[]=" + bob.id), auth(bob)).json();
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0]["followed_by"], true);
  EXPECT_EQ(both[0]["following"], false);
  EXPECT_EQ(both[0]["id"], alice.id);
  EXPECT_EQ(both[1]["followed_by"], false);  // yourself
  auto followers = get(d->url("/api/v1/accounts/" + bob.id + "/followers")).json();
  ASSERT_EQ(followers.size(), 1u);
  EXPECT_EQ(followers[0]["username"], "alice");
  EXPECT_EQ(get(d->url("/api/v1/accounts/" + alice.id + "/following")).json()[0]["username"], "bob");
  EXPECT_EQ(rel(alice, "/api/v1/accounts/" + bob.id + "/unfollow").json()["following"], false);
  EXPECT_EQ(account(alice)["following_count"], 0);
  EXPECT_EQ(account(bob)["followers_count"], 0);
  EXPECT_EQ(rel(alice, "/api/v1/accounts/" + alice.id + "/follow").status, 422);
  EXPECT_EQ(rel(alice, "/api/v1/accounts/424242/follow").status, 404);
  EXPECT_EQ(http("POST", d->url("/api/v1/accounts/" + bob.id + "/follow"), "", {"Content-Type: application/x-www-form-urlencoded"}).status, 401);
}

TEST_F(Relationships, LockedAccountsGetFollowRequests) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  auto h = auth(bob);
  h.push_back("Content-Type: application/json");
  ASSERT_EQ(http("PATCH", d->url("/api/v1/accounts/update_credentials"), R"({"locked":true})", h).status, 200);
  auto r = rel(alice, "/api/v1/accounts/" + bob.id + "/follow");
  EXPECT_EQ(r.json()["following"], false);
  EXPECT_EQ(r.json()["requested"], true);
  rel(carol, "/api/v1/accounts/" + bob.id + "/follow");
  auto reqs = get(d->url("/api/v1/follow_requests"), auth(bob)).json();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0]["username"], "carol");  // newest first
  auto ok = rel(bob, "/api/v1/follow_requests/" + alice.id + "/authorize");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["followed_by"], true);
  EXPECT_EQ(rel(bob, "/api/v1/follow_requests/" + carol.id + "/reject").json()["followed_by"], false);
  EXPECT_EQ(rel(bob, "/api/v1/follow_requests/" + carol.id + "/reject").status, 404);
  EXPECT_EQ(get(d->url("/api/v1/follow_requests"), auth(bob)).json().size(), 0u);
  EXPECT_EQ(account(bob)["followers_count"], 1);
  // Followers see private posts; others do not.
  auto priv = post(bob, "followers only", "private");
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + priv), auth(alice)).status, 200);
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + priv), auth(carol)).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/accounts/" + bob.id + "/statuses"), auth(alice)).json().size(), 1u);
  EXPECT_EQ(get(d->url("/api/v1/accounts/" + bob.id + "/statuses"), auth(carol)).json().size(), 0u);
}

TEST_F(Relationships, BlocksCutFollowsAndHideStatuses) {
  auto alice = user("alice");
  auto bob = user("bob");
  rel(alice, "/api/v1/accounts/" + bob.id + "/follow");
  rel(bob, "/api/v1/accounts/" + alice.id + "/follow");
  auto pub = post(bob, "public words", "public");
  auto b = rel(bob, "/api/v1/accounts/" + alice.id + "/block");
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(b.json()["blocking"], true);
  EXPECT_EQ(b.json()["following"], false);
  EXPECT_EQ(b.json()["followed_by"], false);
  EXPECT_EQ(account(alice)["following_count"], 0);
  EXPECT_EQ(account(alice)["followers_count"], 0);
  EXPECT_EQ(get(d->url("/api/v1/accounts/relationships?id[]=" + bob.id), auth(alice)).json()[0]["blocked_by"], true);
  // The blocked cannot see, follow, favourite or reply.
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + pub), auth(alice)).status, 404);
  EXPECT_EQ(rel(alice, "/api/v1/accounts/" + bob.id + "/follow").status, 403);
  EXPECT_EQ(rel(alice, "/api/v1/statuses/" + pub + "/favourite").status, 404);
  auto h = auth(alice);
  h.push_back("Content-Type: application/json");
  EXPECT_EQ(http("POST", d->url("/api/v1/statuses"),
                 nlohmann::json({{"status", "hey"}, {"in_reply_to_id", pub}}).dump(), h).status,
            404);
  EXPECT_EQ(get(d->url("/api/v1/timelines/public"), auth(alice)).json().size(), 0u);
  EXPECT_EQ(get(d->url("/api/v1/timelines/public")).json().size(), 1u);  // anonymous still sees it
  EXPECT_EQ(get(d->url("/api/v1/blocks"), auth(bob)).json()[0]["username"], "alice");
  EXPECT_EQ(rel(bob, "/api/v1/accounts/" + alice.id + "/unblock").json()["blocking"], false);
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + pub), auth(alice)).status, 200);
}

TEST_F(Relationships, MutesHideFromTimelinesAndExpire) {
  auto alice = user("alice");
  auto bob = user("bob");
  post(bob, "noise", "public");
  auto m = rel(alice, "/api/v1/accounts/" + bob.id + "/mute", "notifications=false");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.json()["muting"], true);
  EXPECT_EQ(m.json()["muting_notifications"], false);
  EXPECT_EQ(get(d->url("/api/v1/timelines/public"), auth(alice)).json().size(), 0u);
  EXPECT_EQ(get(d->url("/api/v1/mutes"), auth(alice)).json().size(), 1u);
  EXPECT_EQ(rel(alice, "/api/v1/accounts/" + bob.id + "/mute", "duration=abc").status, 422);
  // A timed mute ends by itself.
  db.exec("UPDATE mutes SET expires_at = now() - interval '1 second'");
  EXPECT_EQ(get(d->url("/api/v1/timelines/public"), auth(alice)).json().size(), 1u);
  EXPECT_EQ(get(d->url("/api/v1/accounts/relationships?id[]=" + bob.id), auth(alice)).json()[0]["muting"], false);
  rel(alice, "/api/v1/accounts/" + bob.id + "/mute", "duration=3600");
  EXPECT_EQ(rel(alice, "/api/v1/accounts/" + bob.id + "/unmute").json()["muting"], false);
}

TEST_F(Relationships, HomeTimelineFollowsTheRules) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  auto dave = user("dave");
  rel(alice, "/api/v1/accounts/" + bob.id + "/follow");
  rel(alice, "/api/v1/accounts/" + carol.id + "/follow", "reblogs=false");
  auto own = post(alice, "mine", "public");
  auto from_bob = post(bob, "bob public", "public");
  auto bob_private = post(bob, "bob followers-only", "private");
  auto from_dave = post(dave, "dave, not followed", "public");
  auto bob_dm_other = post(bob, "dm for @dave", "direct");
  auto bob_dm_alice = post(bob, "dm for @alice", "direct");
  // Replies: to someone alice follows → shown; to a stranger → not.
  auto h = auth(bob);
  h.push_back("Content-Type: application/json");
  auto reply_to_dave = http("POST", d->url("/api/v1/statuses"),
                            nlohmann::json({{"status", "re dave"}, {"in_reply_to_id", from_dave}}).dump(), h)
                         .json()["id"];
  // carol reblogs dave: hidden (alice turned carol's reblogs off); bob reblogs dave: shown.
  rel(carol, "/api/v1/statuses/" + from_dave + "/reblog");
  auto bob_reblog = rel(bob, "/api/v1/statuses/" + from_dave + "/reblog").json()["id"].get<std::string>();

  auto home = get(d->url("/api/v1/timelines/home?limit=40"), auth(alice));
  ASSERT_EQ(home.status, 200) << home.body;
  std::vector<std::string> ids;
  for (auto& s : home.json())
    ids.push_back(s["id"]);
  auto has = [&](const std::string& id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
  EXPECT_TRUE(has(own));
  EXPECT_TRUE(has(from_bob));
  EXPECT_TRUE(has(bob_private));
  EXPECT_TRUE(has(bob_dm_alice));
  EXPECT_TRUE(has(bob_reblog));
  EXPECT_FALSE(has(from_dave));
  EXPECT_FALSE(has(bob_dm_other));
  EXPECT_FALSE(has(reply_to_dave));
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_TRUE(std::is_sorted(ids.rbegin(), ids.rend(), [](const std::string& a, const std::string& b) {
    return std::stoll(a) < std::stoll(b);
  }));
  // Muting and unfollowing take effect on the next read.
  rel(alice, "/api/v1/accounts/" + bob.id + "/mute");
  EXPECT_EQ(get(d->url("/api/v1/timelines/home"), auth(alice)).json().size(), 1u);
  rel(alice, "/api/v1/accounts/" + bob.id + "/unmute");
  rel(alice, "/api/v1/accounts/" + bob.id + "/unfollow");
  EXPECT_EQ(get(d->url("/api/v1/timelines/home"), auth(alice)).json().size(), 1u);
  EXPECT_EQ(get(d->url("/api/v1/timelines/home")).status, 401);
}

TEST_F(Relationships, CredentialAccountCountsPendingFollowRequests) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto h = auth(bob);
  h.push_back("Content-Type: application/json");
  ASSERT_EQ(http("PATCH", d->url("/api/v1/accounts/update_credentials"), R"({"locked":true})", h).status, 200);
  rel(alice, "/api/v1/accounts/" + bob.id + "/follow");
  auto me = get(d->url("/api/v1/accounts/verify_credentials"), auth(bob)).json();
  EXPECT_EQ(me["source"]["follow_requests_count"], 1);
  EXPECT_EQ(http("PATCH", d->url("/api/v1/accounts/update_credentials"), R"({"note":"hi"})", h)
              .json()["source"]["follow_requests_count"],
            1);
}
