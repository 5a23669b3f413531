// Notifications v1 and grouped v2, the notification policy and requests, and
// markers, through a real chorusd: every notification is made by the real event
// (a registration, a follow, a post, a favourite …) and its job in the
// notifications queue; tests wait for the queue to drain, never sleep.
#include "support/client.hpp"

#include <algorithm>
#include <gtest/gtest.h>

using namespace chorus::test;

namespace {

struct Notifications : client_fixture {
  void SetUp() override { start(); }

  // Every notify job done (finished jobs are deleted).
  void drain() {
    ASSERT_TRUE(wait_until([&] { return db.query_value("SELECT count(*) FROM jobs WHERE queue = 'notifications'") == "0"; }))
      << db.query_value("SELECT string_agg(kind || ' ' || state || ' ' || coalesce(last_error, ''), '; ') FROM jobs");
  }
  nlohmann::json list(const who& w, const std::string& query = "") {
    auto r = get(d->url("/api/v1/notifications" + query), auth(w));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
  static std::vector<std::string> types(const nlohmann::json& arr) {
    std::vector<std::string> out;
    for (auto& n : arr)
      out.push_back(n["type"]);
    return out;
  }
  http_response send(const std::string& method, const who& w, const std::string& path, const std::string& body,
                     const std::string& type = "application/x-www-form-urlencoded") {
    return http(method, d->url(path), body, auth(w, {"Content-Type: " + type}));
  }
};

} // namespace

TEST_F(Notifications, EveryTypeComesFromTheRealEvent) {
  auto admin = user("admin");
  db.query_value("UPDATE users SET admin = true WHERE account_id = " + admin.id);
  auto alice = user("alice");  // admin.sign_up (admin)
  auto bob = user("bob");      // admin.sign_up (admin)
  auto carol = user("carol");
  ASSERT_EQ(send("PATCH", carol, "/api/v1/accounts/update_credentials", "locked=true").status, 200);
  ASSERT_EQ(act(alice, "/api/v1/accounts/" + bob.id + "/follow", "notify=true").status, 200);  // follow (bob)
  ASSERT_EQ(act(alice, "/api/v1/accounts/" + carol.id + "/follow").status, 200);               // follow_request (carol)
  auto own = post(alice, "mine");
  auto mention = post(bob, "hello @alice");                      // mention + status (alice)
  ASSERT_EQ(act(bob, "/api/v1/statuses/" + own + "/favourite").status, 200);  // favourite (alice)
  ASSERT_EQ(act(bob, "/api/v1/statuses/" + own + "/reblog").status, 200);     // reblog (alice)
  ASSERT_EQ(act(alice, "/api/v1/statuses/" + own + "/favourite").status, 200);  // self: nothing
  drain();
  auto a = list(alice);
  auto t = types(a);
  std::sort(t.begin(), t.end());
  EXPECT_EQ(t, (std::vector<std::string>{"favourite", "mention", "reblog", "status"}));
  for (auto& n : a) {
    EXPECT_EQ(n["account"]["id"], bob.id);
    EXPECT_TRUE(n["id"].is_string());
    EXPECT_TRUE(n["group_key"].is_string());
    EXPECT_TRUE(n["created_at"].is_string());
    if (n["type"] == "mention")
      EXPECT_EQ(n["status"]["id"], mention);
    if (n["type"] == "favourite" || n["type"] == "reblog") {
      EXPECT_EQ(n["status"]["id"], own);
      EXPECT_EQ(n["group_key"].get<std::string>().rfind(n["type"].get<std::string>() + "-" + own + "-", 0), 0u);
    }
  }
  EXPECT_EQ(types(list(bob)), (std::vector<std::string>{"follow"}));
  EXPECT_EQ(types(list(carol)), (std::vector<std::string>{"follow_request"}));
  auto signups = list(admin);
  EXPECT_EQ(signups.size(), 3u);
  EXPECT_EQ(types(signups)[0], "admin.sign_up");
  // One notification; someone else's is 404, as is a bad id.
  auto id = a[0]["id"].get<std::string>();
  auto one = get(d->url("/api/v1/notifications/" + id), auth(alice));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json()["id"], id);
  EXPECT_EQ(get(d->url("/api/v1/notifications/" + id), auth(bob)).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/notifications/abc"), auth(alice)).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/notifications/" + id)).status, 401);
  EXPECT_EQ(act(bob, "/api/v1/notifications/" + id + "/dismiss").status, 404);
  // Dismiss one, then clear the rest; a deleted status takes its notifications along.
  ASSERT_EQ(act(alice, "/api/v1/notifications/" + id + "/dismiss").status, 200);
  EXPECT_EQ(list(alice).size(), 3u);
  ASSERT_EQ(http("DELETE", d->url("/api/v1/statuses/" + mention), "", auth(bob)).status, 200);
  EXPECT_EQ(list(alice, "?types[]=mention").size(), 0u);
  ASSERT_EQ(act(alice, "/api/v1/notifications/clear").status, 200);
  EXPECT_EQ(list(alice).size(), 0u);
  EXPECT_EQ(list(bob).size(), 1u);
}

TEST_F(Notifications, FiltersAndPaginationWithLink) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  std::vector<std::string> own;
  for (int i = 0; i < 3; ++i)
    own.push_back(post(alice, "post " + std::to_string(i)));
  for (auto& s : own) {
    act(bob, "/api/v1/statuses/" + s + "/favourite");
    act(carol, "/api/v1/statuses/" + s + "/favourite");
  }
  act(bob, "/api/v1/accounts/" + alice.id + "/follow");
  drain();
  EXPECT_EQ(list(alice).size(), 7u);
  EXPECT_EQ(list(alice, "?types[]=follow").size(), 1u);
  EXPECT_EQ(list(alice, "?exclude_types[]=favourite").size(), 1u);
  EXPECT_EQ(list(alice, "?types[]=favourite&account_id=" + carol.id).size(), 3u);
  EXPECT_EQ(list(alice, "?account_id=" + bob.id).size(), 4u);
  // Pages of two, newest first, following the Link header to the end.
  std::vector<std::string> seen;
  std::string url = d->url("/api/v1/notifications?limit=2");
  for (int guard = 0; guard < 10 && !url.empty(); ++guard) {
    auto r = get(url, auth(alice));
    ASSERT_EQ(r.status, 200) << r.body;
    auto page = r.json();
    if (page.empty())
      break;
    EXPECT_LE(page.size(), 2u);
    for (auto& n : page)
      seen.push_back(n["id"]);
    auto link = r.header("link");
    ASSERT_NE(link.find("rel=\"prev\""), std::string::npos) << link;
    auto next = link.find(">; rel=\"next\"");
    ASSERT_NE(next, std::string::npos) << link;
    url = link.substr(1, next - 1);
    EXPECT_NE(url.find("limit=2"), std::string::npos);
  }
  ASSERT_EQ(seen.size(), 7u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end(), [](const std::string& a, const std::string& b) {
    return std::stoll(a) > std::stoll(b);
  }));
  // min_id: the page right after it, newest first.
  auto after = list(alice, "?limit=2&min_id=" + seen[4]);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0]["id"], seen[2]);
  EXPECT_EQ(after[1]["id"], seen[3]);
  EXPECT_EQ(list(alice, "?since_id=" + seen[1]).size(), 1u);
  // Bad input is a 4xx with Mastodon's error body.
  auto bad = get(d->url("/api/v1/notifications?types[]=bogus"), auth(alice));
  EXPECT_EQ(bad.status, 422);
  EXPECT_TRUE(bad.json().contains("error"));
  EXPECT_EQ(get(d->url("/api/v1/notifications?exclude_types[]=x"), auth(alice)).status, 422);
  EXPECT_EQ(get(d->url("/api/v1/notifications?account_id=abc"), auth(alice)).status, 422);
  EXPECT_EQ(get(d->url("/api/v1/notifications?include_filtered=maybe"), auth(alice)).status, 422);
  EXPECT_EQ(get(d->url("/api/v1/notifications?types[]=%00"), auth(alice)).status, 422);
  EXPECT_EQ(get(d->url("/api/v1/notifications?types[]=%ff"), auth(alice)).status, 422);
  EXPECT_EQ(get(d->url("/api/v1/notifications?limit=abc"), auth(alice)).status, 200);
}

TEST_F(Notifications, GroupedNotificationsV2) {
  auto alice = user("alice");
  auto bob = user("bob");
  std::vector<who> fans;
  for (int i = 0; i < 3; ++i)
    fans.push_back(user("fan" + std::to_string(i)));
  auto s = post(alice, "popular");
  act(fans[0], "/api/v1/statuses/" + s + "/favourite");
  act(fans[1], "/api/v1/statuses/" + s + "/favourite");
  drain();
  post(bob, "hi @alice");
  drain();
  act(fans[2], "/api/v1/statuses/" + s + "/favourite");
  drain();
  auto r = get(d->url("/api/v2/notifications"), auth(alice));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json();
  ASSERT_TRUE(j.contains("accounts") && j.contains("statuses") && j.contains("notification_groups")) << j.dump();
  auto& groups = j["notification_groups"];
  ASSERT_EQ(groups.size(), 2u) << j.dump();
  EXPECT_EQ(groups[0]["type"], "favourite");
  EXPECT_EQ(groups[0]["notifications_count"], 3);
  EXPECT_EQ(groups[0]["status_id"], s);
  EXPECT_EQ(groups[0]["sample_account_ids"].size(), 3u);
  EXPECT_EQ(groups[0]["sample_account_ids"][0], fans[2].id);
  EXPECT_TRUE(groups[0].contains("page_min_id") && groups[0].contains("page_max_id") &&
              groups[0].contains("latest_page_notification_at") && groups[0].contains("most_recent_notification_id"));
  EXPECT_EQ(groups[1]["type"], "mention");
  auto mention_key = groups[1]["group_key"].get<std::string>();
  EXPECT_EQ(mention_key.rfind("ungrouped-", 0), 0u);
  EXPECT_EQ(j["statuses"].size(), 2u);
  EXPECT_GE(j["accounts"].size(), 4u);
  EXPECT_FALSE(j.contains("partial_accounts"));
  // A page boundary inside the group: limit=1 then the Link's next page.
  auto p1 = get(d->url("/api/v2/notifications?limit=1"), auth(alice));
  ASSERT_EQ(p1.json()["notification_groups"].size(), 1u);
  auto link = p1.header("link");
  auto next = link.find(">; rel=\"next\"");
  ASSERT_NE(next, std::string::npos) << link;
  auto p2 = get(link.substr(1, next - 1), auth(alice)).json();
  ASSERT_EQ(p2["notification_groups"].size(), 1u);
  EXPECT_EQ(p2["notification_groups"][0]["type"], "mention");
  auto p3url = get(link.substr(1, next - 1), auth(alice)).header("link");
  auto n3 = p3url.find(">; rel=\"next\"");
  ASSERT_NE(n3, std::string::npos);
  auto p3 = get(p3url.substr(1, n3 - 1), auth(alice)).json();
  ASSERT_EQ(p3["notification_groups"].size(), 1u);
  EXPECT_EQ(p3["notification_groups"][0]["group_key"], groups[0]["group_key"]);  // the group again, older part
  EXPECT_EQ(p3["notification_groups"][0]["notifications_count"], 2);
  // Paging up from the mention: only the newer part of the favourites' group.
  auto up = get(d->url("/api/v2/notifications?min_id=" + groups[1]["most_recent_notification_id"].get<std::string>()),
                auth(alice)).json();
  ASSERT_EQ(up["notification_groups"].size(), 1u) << up.dump();
  EXPECT_EQ(up["notification_groups"][0]["group_key"], groups[0]["group_key"]);
  EXPECT_EQ(up["notification_groups"][0]["page_min_id"], up["notification_groups"][0]["page_max_id"]);
  // grouped_types without favourite: each favourite alone.
  EXPECT_EQ(get(d->url("/api/v2/notifications?grouped_types[]=follow"), auth(alice)).json()["notification_groups"].size(), 4u);
  // partial avatars
  auto partial = get(d->url("/api/v2/notifications?expand_accounts=partial_avatars"), auth(alice)).json();
  ASSERT_TRUE(partial.contains("partial_accounts"));
  EXPECT_EQ(partial["partial_accounts"].size(), 2u);
  EXPECT_TRUE(partial["partial_accounts"][0].contains("avatar_static"));
  EXPECT_EQ(get(d->url("/api/v2/notifications?expand_accounts=some"), auth(alice)).status, 400);
  EXPECT_EQ(get(d->url("/api/v2/notifications?grouped_types[]=nope"), auth(alice)).status, 422);
  // One group, its accounts, unread count, dismiss.
  auto key = groups[0]["group_key"].get<std::string>();
  auto one = get(d->url("/api/v2/notifications/" + key), auth(alice));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json()["notification_groups"][0]["notifications_count"], 3);
  EXPECT_FALSE(one.json()["notification_groups"][0].contains("page_min_id"));
  EXPECT_EQ(get(d->url("/api/v2/notifications/" + key), auth(bob)).status, 404);
  EXPECT_EQ(get(d->url("/api/v2/notifications/" + mention_key), auth(alice)).status, 200);
  auto accounts = get(d->url("/api/v2/notifications/" + key + "/accounts"), auth(alice));
  ASSERT_EQ(accounts.status, 200);
  ASSERT_EQ(accounts.json().size(), 3u);
  EXPECT_EQ(accounts.json()[0]["id"], fans[2].id);
  EXPECT_EQ(get(d->url("/api/v2/notifications/unread_count"), auth(alice)).json()["count"], 2);
  EXPECT_EQ(get(d->url("/api/v2/notifications/unread_count?grouped_types[]=follow"), auth(alice)).json()["count"], 4);
  EXPECT_EQ(get(d->url("/api/v1/notifications/unread_count"), auth(alice)).json()["count"], 4);
  ASSERT_EQ(act(alice, "/api/v2/notifications/" + key + "/dismiss").status, 200);
  EXPECT_EQ(get(d->url("/api/v2/notifications"), auth(alice)).json()["notification_groups"].size(), 1u);
  EXPECT_EQ(get(d->url("/api/v2/notifications/" + key), auth(alice)).status, 404);
}

TEST_F(Notifications, PolicyAndRequests) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  auto dave = user("dave");
  auto pol = get(d->url("/api/v2/notifications/policy"), auth(alice));
  ASSERT_EQ(pol.status, 200) << pol.body;
  EXPECT_EQ(pol.json()["for_not_following"], "accept");
  EXPECT_EQ(pol.json()["for_private_mentions"], "filter");
  EXPECT_EQ(pol.json()["summary"]["pending_requests_count"], 0);
  auto set = send("PATCH", alice, "/api/v2/notifications/policy", R"({"for_not_following":"filter"})", "application/json");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.json()["for_not_following"], "filter");
  EXPECT_EQ(set.json()["for_not_followers"], "accept");
  EXPECT_EQ(send("PATCH", alice, "/api/v2/notifications/policy", "for_new_accounts=maybe").status, 422);
  EXPECT_EQ(send("PATCH", alice, "/api/v2/notifications/policy", "for_new_accounts=acc%00ept").status, 422);
  EXPECT_EQ(send("PATCH", alice, "/api/v2/notifications/policy", "for_new_accounts=%ff").status, 422);
  auto v1 = get(d->url("/api/v1/notifications/policy"), auth(alice)).json();
  EXPECT_EQ(v1["filter_not_following"], true);
  EXPECT_EQ(v1["filter_not_followers"], false);
  // Strangers' mentions become requests.
  post(bob, "hey @alice");
  post(bob, "again @alice");
  post(carol, "me too @alice");
  post(dave, "and me @alice");
  drain();
  EXPECT_EQ(list(alice).size(), 0u);
  EXPECT_EQ(list(alice, "?include_filtered=true").size(), 4u);
  auto reqs = get(d->url("/api/v1/notifications/requests"), auth(alice));
  ASSERT_EQ(reqs.status, 200) << reqs.body;
  ASSERT_EQ(reqs.json().size(), 3u);
  auto first = reqs.json()[2];  // bob's, the oldest
  EXPECT_EQ(first["account"]["id"], bob.id);
  EXPECT_EQ(first["notifications_count"], "2");
  EXPECT_TRUE(first["last_status"].is_object());
  auto rid = first["id"].get<std::string>();
  EXPECT_EQ(get(d->url("/api/v1/notifications/requests/" + rid), auth(alice)).json()["id"], rid);
  EXPECT_EQ(get(d->url("/api/v1/notifications/requests/" + rid), auth(bob)).status, 404);
  EXPECT_EQ(get(d->url("/api/v2/notifications/policy"), auth(alice)).json()["summary"]["pending_notifications_count"], 4);
  // Accept: bob's notifications join the list, and bob is allowed from now on.
  EXPECT_EQ(act(bob, "/api/v1/notifications/requests/" + rid + "/accept").status, 404);
  ASSERT_EQ(act(alice, "/api/v1/notifications/requests/" + rid + "/accept").status, 200);
  EXPECT_EQ(list(alice).size(), 2u);
  post(bob, "once more @alice");
  drain();
  EXPECT_EQ(list(alice).size(), 3u);
  EXPECT_EQ(act(alice, "/api/v1/notifications/requests/" + rid + "/accept").status, 404);
  EXPECT_EQ(get(d->url("/api/v1/notifications/requests/merged"), auth(alice)).json()["merged"], true);
  // Bulk: dismiss carol's and dave's in one call.
  auto rest = get(d->url("/api/v1/notifications/requests"), auth(alice)).json();
  ASSERT_EQ(rest.size(), 2u);
  auto bulk = act(alice, "/api/v1/notifications/requests/dismiss",
                  "id[]=" + rest[0]["id"].get<std::string>() + "&id[]=" + rest[1]["id"].get<std::string>());
  ASSERT_EQ(bulk.status, 200) << bulk.body;
  EXPECT_EQ(get(d->url("/api/v1/notifications/requests"), auth(alice)).json().size(), 0u);
  EXPECT_EQ(list(alice, "?include_filtered=true").size(), 3u);
  EXPECT_EQ(act(alice, "/api/v1/notifications/requests/accept", "id[]=abc").status, 422);
  EXPECT_EQ(act(alice, "/api/v1/notifications/requests/xyz/dismiss").status, 404);
  // drop stores nothing.
  ASSERT_EQ(send("PATCH", alice, "/api/v2/notifications/policy", "for_not_following=drop").status, 200);
  post(carol, "dropped @alice");
  drain();
  EXPECT_EQ(list(alice, "?include_filtered=true").size(), 3u);
  EXPECT_EQ(get(d->url("/api/v1/notifications/requests"), auth(alice)).json().size(), 0u);
  // The v1 policy edits the same policy.
  ASSERT_EQ(send("PATCH", alice, "/api/v1/notifications/policy", "filter_not_following=false").status, 200);
  EXPECT_EQ(get(d->url("/api/v2/notifications/policy"), auth(alice)).json()["for_not_following"], "accept");
}

TEST_F(Notifications, BlocksAndMutesHideSenders) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  auto s = post(alice, "hello");
  ASSERT_EQ(act(alice, "/api/v1/accounts/" + carol.id + "/mute", "notifications=true").status, 200);
  ASSERT_EQ(act(bob, "/api/v1/accounts/" + alice.id + "/block").status, 200);
  act(carol, "/api/v1/statuses/" + s + "/favourite");  // muted with notifications
  post(bob, "blocked @alice");                        // alice is blocked by bob
  drain();
  EXPECT_EQ(list(alice).size(), 0u);
  ASSERT_EQ(act(alice, "/api/v1/accounts/" + carol.id + "/mute", "notifications=false").status, 200);
  auto s2 = post(alice, "again");
  act(carol, "/api/v1/statuses/" + s2 + "/favourite");
  drain();
  EXPECT_EQ(list(alice).size(), 1u);
}

TEST_F(Notifications, MarkersAndUnreadCount) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto s = post(alice, "count me");
  for (int i = 0; i < 3; ++i)
    post(bob, "@alice number " + std::to_string(i));
  drain();
  auto all = list(alice);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(get(d->url("/api/v1/notifications/unread_count"), auth(alice)).json()["count"], 3);
  EXPECT_EQ(get(d->url("/api/v1/notifications/unread_count?limit=2"), auth(alice)).json()["count"], 2);
  auto none = get(d->url("/api/v1/markers?timeline[]=home&timeline[]=notifications"), auth(alice));
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(none.json(), nlohmann::json::object());
  auto m = send("POST", alice, "/api/v1/markers", "notifications[last_read_id]=" + all[1]["id"].get<std::string>());
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.json()["notifications"]["last_read_id"], all[1]["id"]);
  EXPECT_EQ(m.json()["notifications"]["version"], 0);
  EXPECT_EQ(get(d->url("/api/v1/notifications/unread_count"), auth(alice)).json()["count"], 1);
  EXPECT_EQ(get(d->url("/api/v2/notifications/unread_count"), auth(alice)).json()["count"], 1);
  auto j = send("POST", alice, "/api/v1/markers",
                R"({"home":{"last_read_id":")" + s + R"("},"notifications":{"last_read_id":")" +
                  all[0]["id"].get<std::string>() + R"("}})",
                "application/json");
  ASSERT_EQ(j.status, 200) << j.body;
  EXPECT_EQ(j.json()["notifications"]["version"], 1);
  EXPECT_EQ(j.json()["home"]["version"], 0);
  auto both = get(d->url("/api/v1/markers?timeline[]=home&timeline[]=notifications"), auth(alice)).json();
  EXPECT_EQ(both["home"]["last_read_id"], s);
  EXPECT_EQ(both["notifications"]["version"], 1);
  EXPECT_FALSE(get(d->url("/api/v1/markers?timeline[]=home"), auth(alice)).json().contains("notifications"));
  EXPECT_EQ(get(d->url("/api/v1/markers?timeline[]=notifications"), auth(bob)).json(), nlohmann::json::object());
  EXPECT_EQ(get(d->url("/api/v1/notifications/unread_count"), auth(alice)).json()["count"], 0);
  EXPECT_EQ(send("POST", alice, "/api/v1/markers", "home[last_read_id]=abc").status, 422);
  EXPECT_EQ(send("POST", alice, "/api/v1/markers", "home[last_read_id]=1%002").status, 422);
  EXPECT_EQ(send("POST", alice, "/api/v1/markers", "").status, 400);
  EXPECT_EQ(send("POST", alice, "/api/v1/markers", R"({"home":5})", "application/json").status, 422);
}

// The statuses of a page come from the hot-status cache; the viewer's flags and
// the senders' accounts are read with the page, so they are the viewer's and
// current on every read (v1, one notification, and v2's statuses).
TEST_F(Notifications, StatusesCarryTheViewersCurrentFlags) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  auto mention = post(bob, "hello @alice");
  ASSERT_EQ(act(carol, "/api/v1/accounts/" + alice.id + "/follow").status, 200);  // an account no status brings
  drain();
  auto flags = [&](const nlohmann::json& s) {
    return std::to_string(s["favourited"].get<bool>()) + std::to_string(s["reblogged"].get<bool>()) +
           std::to_string(s["bookmarked"].get<bool>());
  };
  auto mention_of = [&](const nlohmann::json& arr) {
    for (auto& n : arr)
      if (n["type"] == "mention")
        return n;
    return nlohmann::json();
  };
  auto before = list(alice);  // loads the status into the cache with no flags
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(flags(mention_of(before)["status"]), "000");
  ASSERT_EQ(act(alice, "/api/v1/statuses/" + mention + "/favourite").status, 200);
  ASSERT_EQ(act(alice, "/api/v1/statuses/" + mention + "/bookmark").status, 200);
  auto after = list(alice);
  auto n = mention_of(after);
  EXPECT_EQ(flags(n["status"]), "101");
  EXPECT_EQ(n["status"]["account"]["id"], bob.id);
  for (auto& x : after)
    if (x["type"] == "follow")
      EXPECT_EQ(x["account"]["id"], carol.id);
  auto one = get(d->url("/api/v1/notifications/" + n["id"].get<std::string>()), auth(alice));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(flags(one.json()["status"]), "101");
  auto v2 = get(d->url("/api/v2/notifications"), auth(alice));
  ASSERT_EQ(v2.status, 200) << v2.body;
  ASSERT_EQ(v2.json()["statuses"].size(), 1u) << v2.body;
  EXPECT_EQ(flags(v2.json()["statuses"][0]), "101");
  ASSERT_EQ(act(alice, "/api/v1/statuses/" + mention + "/unfavourite").status, 200);
  EXPECT_EQ(flags(mention_of(list(alice))["status"]), "001");
}
