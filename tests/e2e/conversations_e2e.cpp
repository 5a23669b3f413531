// Direct-message conversations and the direct timeline through a real chorusd:
// conversations are kept by background jobs committed with each direct status
// (and with its deletion), so every check of their effect waits with a deadline.
#include "support/client.hpp"

#include <gtest/gtest.h>
#include <regex>

using namespace chorus::test;

namespace {

struct Conversations : client_fixture {
  void SetUp() override { start(); }

  nlohmann::json list(const who& w, const std::string& query = "") {
    auto r = get(d->url("/api/v1/conversations" + query), auth(w));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.json() : nlohmann::json::array();
  }
  // Waits until `w`'s newest conversation has `last` as its last status; that conversation.
  nlohmann::json newest_with(const who& w, const std::string& last) {
    nlohmann::json found;
    bool ok = wait_until([&] {
      auto l = list(w);
      if (l.empty() || l[0]["last_status"].is_null() || l[0]["last_status"]["id"] != last)
        return false;
      found = l[0];
      return true;
    });
    EXPECT_TRUE(ok) << "no conversation of " << w.id << " with last status " << last << ": " << list(w).dump();
    return found;
  }
  std::vector<std::string> ids_of(const nlohmann::json& accounts) {
    std::vector<std::string> out;
    for (auto& a : accounts)
      out.push_back(a["id"]);
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }
  std::string link_param(const http_response& r, const std::string& rel, const std::string& param) {
    std::smatch m;
    auto link = r.header("link");
    std::regex re("[?&]" + param + "=([0-9]+)[^>]*>; rel=\"" + rel + "\"");
    return std::regex_search(link, m, re) ? m[1].str() : "";
  }
};

} // namespace

TEST_F(Conversations, DirectPostCreatesOneForEachParticipantUnreadForRecipients) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  auto dave = user("dave");
  auto id = post(alice, "@bob @carol lunch?", "direct");
  ASSERT_FALSE(id.empty());
  auto a = newest_with(alice, id);
  auto b = newest_with(bob, id);
  auto c = newest_with(carol, id);
  EXPECT_EQ(a["unread"], false);  // one's own message
  EXPECT_EQ(b["unread"], true);
  EXPECT_EQ(c["unread"], true);
  EXPECT_EQ(ids_of(a["accounts"]), sorted({bob.id, carol.id}));  // the others, never oneself
  EXPECT_EQ(ids_of(b["accounts"]), sorted({alice.id, carol.id}));
  EXPECT_TRUE(a["id"].is_string());
  EXPECT_NE(a["id"], b["id"]);  // each participant has their own conversation
  EXPECT_EQ(b["last_status"]["visibility"], "direct");
  EXPECT_EQ(b["last_status"]["account"]["id"], alice.id);
  EXPECT_TRUE(list(dave).empty());
  // The direct timeline: the viewer's direct statuses, sent and received.
  auto t = get(d->url("/api/v1/timelines/direct"), auth(bob));
  ASSERT_EQ(t.status, 200) << t.body;
  ASSERT_EQ(t.json().size(), 1u);
  EXPECT_EQ(t.json()[0]["id"], id);
  EXPECT_EQ(get(d->url("/api/v1/timelines/direct"), auth(alice)).json().size(), 1u);
  EXPECT_EQ(get(d->url("/api/v1/timelines/direct"), auth(dave)).json().size(), 0u);
  EXPECT_EQ(get(d->url("/api/v1/timelines/direct")).status, 401);
  // Non-direct posts make no conversation.
  auto pub = post(alice, "@bob public hello", "public");
  auto later = post(alice, "@bob still there?", "direct");
  auto l = newest_with(bob, later);
  EXPECT_EQ(list(bob).size(), 2u);  // lunch (with carol) and this one (alice and bob only)
  EXPECT_EQ(ids_of(l["accounts"]), std::vector<std::string>{alice.id});
  for (auto& s : get(d->url("/api/v1/timelines/direct"), auth(bob)).json())
    EXPECT_NE(s["id"], pub);
  // A note to oneself shows oneself.
  auto self = post(dave, "memo to me", "direct");
  auto own = newest_with(dave, self);
  EXPECT_EQ(ids_of(own["accounts"]), std::vector<std::string>{dave.id});
}

TEST_F(Conversations, ReplyJoinsReadMarksAndDeleteHidesForOneViewerOnly) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto first = post(alice, "@bob secret plan", "direct");
  auto conv_b = newest_with(bob, first);
  auto conv_a = newest_with(alice, first);
  // bob answers in the thread: the same conversation moves, unread for alice now.
  auto reply = post(bob, "@alice sounds good", "direct", first);
  auto a2 = newest_with(alice, reply);
  auto b2 = newest_with(bob, reply);
  EXPECT_EQ(a2["id"], conv_a["id"]);
  EXPECT_EQ(b2["id"], conv_b["id"]);
  EXPECT_EQ(a2["unread"], true);
  EXPECT_EQ(b2["unread"], false);  // bob's own reply reads it for him
  EXPECT_EQ(list(alice).size(), 1u);
  // Mark read.
  auto r = act(alice, "/api/v1/conversations/" + a2["id"].get<std::string>() + "/read");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["id"], a2["id"]);
  EXPECT_EQ(r.json()["unread"], false);
  EXPECT_EQ(r.json()["last_status"]["id"], reply);
  EXPECT_EQ(list(alice)[0]["unread"], false);
  // bob deletes his conversation: gone for him only.
  auto del = http("DELETE", d->url("/api/v1/conversations/" + b2["id"].get<std::string>()), "", auth(bob));
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(del.json(), nlohmann::json::object());
  EXPECT_TRUE(list(bob).empty());
  EXPECT_EQ(list(alice).size(), 1u);
  EXPECT_EQ(http("DELETE", d->url("/api/v1/conversations/" + b2["id"].get<std::string>()), "", auth(bob)).status, 404);
  // A new message in the thread brings it back for bob, as a new conversation.
  auto again = post(alice, "@bob are you there?", "direct", reply);
  auto b3 = newest_with(bob, again);
  EXPECT_NE(b3["id"], b2["id"]);
  EXPECT_EQ(b3["unread"], true);
  EXPECT_EQ(newest_with(alice, again)["id"], conv_a["id"]);
  EXPECT_EQ(list(bob).size(), 1u);
}

TEST_F(Conversations, DeletingStatusesMovesLastStatusBackThenRemovesTheConversation) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto first = post(alice, "@bob one", "direct");
  auto second = post(alice, "@bob two", "direct", first);
  newest_with(bob, second);
  // Deleting the newest status: the last status moves back.
  ASSERT_EQ(http("DELETE", d->url("/api/v1/statuses/" + second), "", auth(alice)).status, 200);
  newest_with(bob, first);
  newest_with(alice, first);
  // The deleted status is gone from the direct timeline at once.
  auto t = get(d->url("/api/v1/timelines/direct"), auth(bob)).json();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["id"], first);
  // Deleting the last one left removes the conversation for everyone.
  ASSERT_EQ(http("DELETE", d->url("/api/v1/statuses/" + first), "", auth(alice)).status, 200);
  EXPECT_TRUE(wait_until([&] { return list(bob).empty() && list(alice).empty(); })) << list(bob).dump();
  EXPECT_TRUE(get(d->url("/api/v1/timelines/direct"), auth(bob)).json().empty());
}

TEST_F(Conversations, PagesNewestFirstWithLinkHeaders) {
  auto alice = user("alice");
  std::vector<who> others;
  std::vector<std::string> posts;
  for (int i = 0; i < 3; ++i) {
    others.push_back(user("friend" + std::to_string(i)));
    posts.push_back(post(alice, "@friend" + std::to_string(i) + " hi", "direct"));
  }
  newest_with(alice, posts[2]);
  ASSERT_TRUE(wait_until([&] { return list(alice).size() == 3; })) << list(alice).dump();
  auto p1 = get(d->url("/api/v1/conversations?limit=2"), auth(alice));
  ASSERT_EQ(p1.status, 200);
  ASSERT_EQ(p1.json().size(), 2u);
  EXPECT_EQ(p1.json()[0]["last_status"]["id"], posts[2]);
  EXPECT_EQ(p1.json()[1]["last_status"]["id"], posts[1]);
  auto next = link_param(p1, "next", "max_id");
  ASSERT_EQ(next, posts[1]) << p1.header("link");
  EXPECT_EQ(link_param(p1, "prev", "min_id"), posts[2]);
  auto p2 = get(d->url("/api/v1/conversations?limit=2&max_id=" + next), auth(alice));
  ASSERT_EQ(p2.json().size(), 1u);
  EXPECT_EQ(p2.json()[0]["last_status"]["id"], posts[0]);
  auto newer = get(d->url("/api/v1/conversations?limit=1&min_id=" + posts[0]), auth(alice));
  ASSERT_EQ(newer.json().size(), 1u);
  EXPECT_EQ(newer.json()[0]["last_status"]["id"], posts[1]);  // the oldest above min_id
  EXPECT_EQ(get(d->url("/api/v1/conversations?since_id=" + posts[2]), auth(alice)).json().size(), 0u);
  // The direct timeline pages the same way.
  auto t = get(d->url("/api/v1/timelines/direct?limit=2"), auth(alice));
  ASSERT_EQ(t.json().size(), 2u);
  EXPECT_EQ(t.json()[0]["id"], posts[2]);
  EXPECT_EQ(link_param(t, "next", "max_id"), posts[1]);
  auto t2 = get(d->url("/api/v1/timelines/direct?max_id=" + posts[1]), auth(alice)).json();
  ASSERT_EQ(t2.size(), 1u);
  EXPECT_EQ(t2[0]["id"], posts[0]);
}

TEST_F(Conversations, OthersConversationsAndBadIdsAreNotFound) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto eve = user("eve");
  auto id = post(alice, "@bob private", "direct");
  auto conv = newest_with(bob, id)["id"].get<std::string>();
  EXPECT_EQ(act(eve, "/api/v1/conversations/" + conv + "/read").status, 404);
  EXPECT_EQ(http("DELETE", d->url("/api/v1/conversations/" + conv), "", auth(eve)).status, 404);
  EXPECT_EQ(newest_with(bob, id)["unread"], true);  // untouched by eve
  for (std::string bad : {"abc", "0", "-1", "99999999999999999999999", "1.5"}) {
    auto r = act(bob, "/api/v1/conversations/" + bad + "/read");
    EXPECT_EQ(r.status, 404) << bad;
    EXPECT_TRUE(r.json().contains("error")) << r.body;
    EXPECT_EQ(http("DELETE", d->url("/api/v1/conversations/" + bad), "", auth(bob)).status, 404) << bad;
  }
  // A NUL in the path is refused at the edge.
  EXPECT_EQ(act(bob, "/api/v1/conversations/%00/read").status, 422);
  EXPECT_EQ(get(d->url("/api/v1/conversations")).status, 401);
  EXPECT_EQ(http("POST", d->url("/api/v1/conversations/" + conv + "/read")).status, 401);
  // An app token without a user cannot list conversations (Mastodon: 422).
  EXPECT_EQ(get(d->url("/api/v1/conversations"), {"Authorization: Bearer " + app_token}).status, 422);
  // Junk pagination is ignored, an absurd limit clamped.
  auto r = get(d->url("/api/v1/conversations?max_id=abc&limit=100000"), auth(bob));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json().size(), 1u);
}

TEST_F(Conversations, BlockedAuthorCreatesNothingForTheBlocker) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  ASSERT_EQ(act(bob, "/api/v1/accounts/" + alice.id + "/block").status, 200);
  auto id = post(alice, "@bob @carol hello both", "direct");
  // One job writes every participant's row in one transaction: once carol's is
  // there, bob's would be too.
  auto c = newest_with(carol, id);
  newest_with(alice, id);
  EXPECT_TRUE(list(bob).empty());
  EXPECT_TRUE(get(d->url("/api/v1/timelines/direct"), auth(bob)).json().empty());
  // carol sees bob as a participant; alice, whom bob blocks, does not see bob.
  EXPECT_EQ(ids_of(c["accounts"]), sorted({alice.id, bob.id}));
  EXPECT_EQ(ids_of(newest_with(alice, id)["accounts"]), std::vector<std::string>{carol.id});
}
