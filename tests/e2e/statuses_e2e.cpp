// Statuses, interactions and timelines through a real chorusd.
#include "support/harness.hpp"

#include <future>
#include <gtest/gtest.h>
#include <regex>
#include <set>

using namespace chorus::test;

namespace {

const std::vector<std::string> json_ct = {"Content-Type: application/json"};
const std::vector<std::string> form = {"Content-Type: application/x-www-form-urlencoded"};

struct Statuses : ::testing::Test {
  temp_database db;
  std::unique_ptr<chorusd> d;
  std::string app_token;
  std::string cid, secret;

  void SetUp() override {
    d = std::make_unique<chorusd>(db.dsn(), std::map<std::string, std::string>{{"CHORUS_STATUSES_MAX_CHARACTERS", "100"}});
    auto app = http("POST", d->url("/api/v1/apps"),
                    "client_name=t&redirect_uris=urn:ietf:wg:oauth:2.0:oob&scopes=read+write+follow", form)
                 .json();
    cid = app["client_id"];
    secret = app["client_secret"];
    app_token = http("POST", d->url("/oauth/token"),
                     "grant_type=client_credentials&client_id=" + cid + "&client_secret=" + secret + "&scope=read+write",
                     form)
                  .json()["access_token"];
  }
  // Registers a user and returns its token.
  std::string user(const std::string& name) {
    auto r = http("POST", d->url("/api/v1/accounts"),
                  nlohmann::json({{"username", name}, {"email", name + "@example.com"}, {"password", "a-long-password"},
                                  {"agreement", true}})
                    .dump(),
                  {"Content-Type: application/json", "Authorization: Bearer " + app_token});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["access_token"];
  }
  std::vector<std::string> as(const std::string& token, std::vector<std::string> h = json_ct) {
    h.push_back("Authorization: Bearer " + token);
    return h;
  }
  http_response post(const std::string& token, const nlohmann::json& body, std::vector<std::string> extra = {}) {
    auto h = as(token);
    h.insert(h.end(), extra.begin(), extra.end());
    return http("POST", d->url("/api/v1/statuses"), body.dump(), h);
  }
  std::string post_id(const std::string& token, const std::string& text, const std::string& visibility = "public") {
    auto r = post(token, {{"status", text}, {"visibility", visibility}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["id"];
  }
  http_response act(const std::string& token, const std::string& id, const std::string& verb) {
    return http("POST", d->url("/api/v1/statuses/" + id + "/" + verb), "", as(token));
  }
};

} // namespace

TEST_F(Statuses, CreateRendersMastodonStatus) {
  auto alice = user("alice");
  user("bob");
  auto r = post(alice, {{"status", "Hi @bob and @ghost, see #Chorus <3 https://example.com/x"},
                        {"spoiler_text", "cw"},
                        {"language", "en"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto s = r.json();
  EXPECT_TRUE(s["id"].is_string());
  EXPECT_EQ(s["account"]["username"], "alice");
  EXPECT_EQ(s["visibility"], "public");
  EXPECT_EQ(s["sensitive"], true);  // a content warning makes it sensitive
  EXPECT_EQ(s["spoiler_text"], "cw");
  EXPECT_EQ(s["language"], "en");
  ASSERT_EQ(s["mentions"].size(), 1u);
  EXPECT_EQ(s["mentions"][0]["username"], "bob");
  EXPECT_EQ(s["tags"][0]["name"], "chorus");
  auto content = s["content"].get<std::string>();
  EXPECT_NE(content.find("&lt;3"), std::string::npos) << content;
  EXPECT_NE(content.find("class=\"u-url mention\">@<span>bob</span>"), std::string::npos) << content;
  EXPECT_EQ(content.find("/@ghost"), std::string::npos) << content;
  for (auto key : {"created_at", "in_reply_to_id", "uri", "url", "replies_count", "reblogs_count", "favourites_count",
                   "favourited", "reblogged", "bookmarked", "reblog", "media_attachments", "emojis", "card", "poll"})
    EXPECT_TRUE(s.contains(key)) << key;
  // Form-encoded works too, and the account counter moved.
  auto f = http("POST", d->url("/api/v1/statuses"), "status=second&visibility=unlisted", as(alice, form));
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_EQ(f.json()["visibility"], "unlisted");
  EXPECT_EQ(f.json()["account"]["statuses_count"], 2);
}

TEST_F(Statuses, BadInputIsRefusedAndNothingIsWritten) {
  auto alice = user("alice");
  EXPECT_EQ(http("POST", d->url("/api/v1/statuses"), R"({"status":"x"})", json_ct).status, 401);
  EXPECT_EQ(post(alice, {{"status", "   "}}).status, 422);
  EXPECT_EQ(post(alice, {{"status", std::string(101, 'x')}}).status, 422);
  EXPECT_EQ(post(alice, {{"status", std::string(60, 'x')}, {"spoiler_text", std::string(41, 'y')}}).status, 422);
  EXPECT_EQ(post(alice, {{"status", "https://example.com/" + std::string(200, 'a')}}).status, 200);  // URLs count 23
  EXPECT_EQ(post(alice, {{"status", "x"}, {"visibility", "secret"}}).status, 422);
  EXPECT_EQ(post(alice, {{"status", "x"}, {"in_reply_to_id", "999"}}).status, 404);
  EXPECT_EQ(post(alice, {{"status", "x"}, {"media_ids", {"1"}}}).status, 422);
  EXPECT_EQ(http("POST", d->url("/api/v1/statuses"), "{\"status\":", as(alice)).status, 400);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM statuses"), "1");
  // An app token is not a user.
  EXPECT_EQ(post(app_token, {{"status", "x"}}).status, 422);
}

TEST_F(Statuses, IdempotencyKeyNeverCreatesTwo) {
  auto alice = user("alice");
  auto a = post(alice, {{"status", "once"}}, {"Idempotency-Key: abc"});
  auto b = post(alice, {{"status", "once"}}, {"Idempotency-Key: abc"});
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(a.json()["id"], b.json()["id"]);
  // Concurrent retries with one key: still one status.
  std::vector<std::future<http_response>> fs;
  for (int i = 0; i < 8; ++i)
    fs.push_back(std::async(std::launch::async, [&] { return post(alice, {{"status", "race"}}, {"Idempotency-Key: race"}); }));
  std::set<std::string> ids;
  for (auto& f : fs) {
    auto r = f.get();
    ASSERT_EQ(r.status, 200) << r.body;
    ids.insert(r.json()["id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM statuses"), "2");
  EXPECT_EQ(db.query_value("SELECT statuses_count FROM accounts WHERE username = 'alice'"), "2");
  // A key is remembered for an hour, then it may name a new post.
  db.exec("UPDATE statuses SET created_at = now() - interval '61 minutes' WHERE idempotency_key = 'abc'");
  auto later = post(alice, {{"status", "once more"}}, {"Idempotency-Key: abc"});
  ASSERT_EQ(later.status, 200) << later.body;
  EXPECT_NE(later.json()["id"], a.json()["id"]);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM statuses"), "3");
}

TEST_F(Statuses, VisibilityRules) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  auto priv = post_id(alice, "private for @bob", "private");
  auto dm = post_id(alice, "dm @carol", "direct");
  auto unlisted = post_id(alice, "quiet", "unlisted");
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + priv)).status, 404);  // anonymous
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + priv), as(carol, {})).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + priv), as(bob, {})).status, 200);  // mentioned
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + dm), as(bob, {})).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + dm), as(carol, {})).status, 200);
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + unlisted)).status, 200);
  // Only public statuses are on the public timeline.
  auto tl = get(d->url("/api/v1/timelines/public")).json();
  EXPECT_EQ(tl.size(), 0u);
  // Private statuses cannot be reblogged by others; replies need a visible parent.
  EXPECT_EQ(act(bob, priv, "reblog").status, 403);
  EXPECT_EQ(post(carol, {{"status", "reply"}, {"in_reply_to_id", priv}}).status, 404);
  EXPECT_EQ(post(bob, {{"status", "reply"}, {"in_reply_to_id", priv}}).status, 200);
  // Someone else's status cannot be deleted.
  EXPECT_EQ(http("DELETE", d->url("/api/v1/statuses/" + unlisted), "", as(bob)).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + unlisted)).status, 200);
}

TEST_F(Statuses, InteractionsKeepCountersRight) {
  auto alice = user("alice");
  auto id = post_id(alice, "like me");
  std::vector<std::string> fans;
  for (int i = 0; i < 6; ++i)
    fans.push_back(user("fan" + std::to_string(i)));
  // Concurrent favourites, each twice (idempotent), and reblogs.
  std::vector<std::future<long>> fs;
  for (auto& t : fans)
    for (int k = 0; k < 2; ++k)
      fs.push_back(std::async(std::launch::async, [&, t] { return act(t, id, "favourite").status; }));
  for (auto& f : fs)
    EXPECT_EQ(f.get(), 200);
  auto s = get(d->url("/api/v1/statuses/" + id)).json();
  EXPECT_EQ(s["favourites_count"], 6);
  auto mine = get(d->url("/api/v1/statuses/" + id), as(fans[0], {})).json();
  EXPECT_EQ(mine["favourited"], true);
  EXPECT_EQ(act(fans[0], id, "unfavourite").json()["favourites_count"], 5);
  EXPECT_EQ(act(fans[0], id, "unfavourite").json()["favourites_count"], 5);

  auto rb = act(fans[1], id, "reblog");
  ASSERT_EQ(rb.status, 200) << rb.body;
  EXPECT_EQ(rb.json()["reblog"]["id"], id);
  EXPECT_EQ(rb.json()["reblog"]["reblogs_count"], 1);
  EXPECT_EQ(act(fans[1], id, "reblog").json()["reblog"]["reblogs_count"], 1);  // once per account
  auto by = get(d->url("/api/v1/statuses/" + id + "/reblogged_by")).json();
  ASSERT_EQ(by.size(), 1u);
  EXPECT_EQ(by[0]["username"], "fan1");
  auto fav_by = get(d->url("/api/v1/statuses/" + id + "/favourited_by?limit=2"));
  ASSERT_EQ(fav_by.json().size(), 2u);
  EXPECT_FALSE(fav_by.header("link").empty());
  std::size_t total = 0;
  std::string next = d->url("/api/v1/statuses/" + id + "/favourited_by?limit=2");
  for (int pages = 0; pages < 10 && !next.empty(); ++pages) {  // walk the Link headers to the end
    auto page = get(next);
    total += page.json().size();
    std::smatch m;
    auto link = page.header("link");
    next = std::regex_search(link, m, std::regex("<([^>]+)>; rel=\"next\"")) ? m[1].str() : std::string();
  }
  EXPECT_EQ(total, 5u);
  EXPECT_EQ(act(fans[1], id, "unreblog").json()["reblogs_count"], 0);

  EXPECT_EQ(act(fans[2], id, "bookmark").json()["bookmarked"], true);
  auto bm = get(d->url("/api/v1/bookmarks"), as(fans[2], {}));
  ASSERT_EQ(bm.status, 200);
  ASSERT_EQ(bm.json().size(), 1u);
  EXPECT_EQ(bm.json()[0]["id"], id);
  auto favs = get(d->url("/api/v1/favourites"), as(fans[3], {})).json();
  ASSERT_EQ(favs.size(), 1u);
  EXPECT_EQ(act(fans[2], id, "unbookmark").json()["bookmarked"], false);
  EXPECT_EQ(get(d->url("/api/v1/bookmarks"), as(fans[2], {})).json().size(), 0u);
  EXPECT_EQ(act(fans[2], "12345", "favourite").status, 404);
}

TEST_F(Statuses, RepliesContextAndDeletion) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto root = post_id(alice, "root");
  auto r1 = post(bob, {{"status", "r1"}, {"in_reply_to_id", root}}).json();
  EXPECT_EQ(r1["in_reply_to_id"], root);
  EXPECT_EQ(r1["in_reply_to_account_id"], get(d->url("/api/v1/statuses/" + root)).json()["account"]["id"]);
  auto r2 = post(alice, {{"status", "r2"}, {"in_reply_to_id", r1["id"]}}).json();
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + root)).json()["replies_count"], 1);
  auto ctx = get(d->url("/api/v1/statuses/" + r1["id"].get<std::string>() + "/context")).json();
  ASSERT_EQ(ctx["ancestors"].size(), 1u);
  EXPECT_EQ(ctx["ancestors"][0]["id"], root);
  ASSERT_EQ(ctx["descendants"].size(), 1u);
  EXPECT_EQ(ctx["descendants"][0]["id"], r2["id"]);

  auto del = http("DELETE", d->url("/api/v1/statuses/" + r1["id"].get<std::string>()), "", as(bob));
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(del.json()["text"], "r1");  // the source, for redrafting
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + r1["id"].get<std::string>())).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + root)).json()["replies_count"], 0);
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + root + "/context")).json()["descendants"].size(), 0u);
  EXPECT_EQ(http("DELETE", d->url("/api/v1/statuses/" + r1["id"].get<std::string>()), "", as(bob)).status, 404);
}

TEST_F(Statuses, TimelinesPaginateByCursorWithLinkHeaders) {
  auto alice = user("alice");
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i)
    ids.push_back(post_id(alice, "post " + std::to_string(i) + (i % 2 ? " #odd" : "")));
  auto p1 = get(d->url("/api/v1/timelines/public?limit=3"));
  ASSERT_EQ(p1.status, 200);
  auto j1 = p1.json();
  ASSERT_EQ(j1.size(), 3u);
  EXPECT_EQ(j1[0]["id"], ids[6]);  // newest first
  EXPECT_EQ(j1[2]["id"], ids[4]);
  std::smatch m;
  auto link = p1.header("link");
  ASSERT_TRUE(std::regex_search(link, m, std::regex("<([^>]+)>; rel=\"next\""))) << link;
  auto next = m[1].str();
  EXPECT_NE(next.find("limit=3"), std::string::npos);
  EXPECT_NE(next.find("max_id=" + ids[4]), std::string::npos);
  auto j2 = get(next).json();
  ASSERT_EQ(j2.size(), 3u);
  EXPECT_EQ(j2[0]["id"], ids[3]);
  // min_id walks forward from a cursor, still newest first within the page.
  auto j3 = get(d->url("/api/v1/timelines/public?limit=2&min_id=" + ids[1])).json();
  ASSERT_EQ(j3.size(), 2u);
  EXPECT_EQ(j3[0]["id"], ids[3]);
  EXPECT_EQ(j3[1]["id"], ids[2]);
  auto j4 = get(d->url("/api/v1/timelines/public?since_id=" + ids[4])).json();
  EXPECT_EQ(j4.size(), 2u);
  // Hashtag and account timelines.
  EXPECT_EQ(get(d->url("/api/v1/timelines/tag/ODD")).json().size(), 3u);
  auto me = get(d->url("/api/v1/accounts/verify_credentials"), as(alice, {})).json()["id"].get<std::string>();
  EXPECT_EQ(get(d->url("/api/v1/accounts/" + me + "/statuses?limit=40")).json().size(), 7u);
  EXPECT_EQ(get(d->url("/api/v1/accounts/" + me + "/statuses?only_media=true")).json().size(), 0u);
  EXPECT_EQ(get(d->url("/api/v1/accounts/999/statuses")).status, 404);
  // An empty page has no Link header.
  EXPECT_TRUE(get(d->url("/api/v1/timelines/public?max_id=1")).header("link").empty());
}

TEST_F(Statuses, InstanceEndpointsDescribeLimits) {
  auto alice = user("alice");
  post_id(alice, "one");
  auto v1 = get(d->url("/api/v1/instance"));
  ASSERT_EQ(v1.status, 200) << v1.body;
  EXPECT_EQ(v1.json()["configuration"]["statuses"]["max_characters"], 100);
  EXPECT_EQ(v1.json()["stats"]["user_count"], 1);
  EXPECT_EQ(v1.json()["stats"]["status_count"], 1);
  EXPECT_NE(v1.json()["version"].get<std::string>().find("Chorus"), std::string::npos);
  auto v2 = get(d->url("/api/v2/instance"));
  ASSERT_EQ(v2.status, 200) << v2.body;
  EXPECT_EQ(v2.json()["configuration"]["statuses"]["characters_reserved_per_url"], 23);
  EXPECT_EQ(v2.json()["registrations"]["enabled"], true);
  EXPECT_EQ(v2.json()["usage"]["users"]["active_month"], 1);
  // Clients open the streaming API where these point (no public.url: the bound address).
  auto ws = "ws://127.0.0.1:" + std::to_string(d->port());
  EXPECT_EQ(v1.json()["urls"]["streaming_api"], ws);
  EXPECT_EQ(v1.json()["configuration"]["urls"]["streaming_api"], ws);
  EXPECT_EQ(v2.json()["configuration"]["urls"]["streaming"], ws);
}

TEST(InstanceStreaming, AdvertisesWssForAnHttpsPublicUrl) {
  temp_database db;
  chorusd d(db.dsn(), {{"CHORUS_PUBLIC_URL", "https://social.example/"}});
  auto v1 = get(d.url("/api/v1/instance"));
  ASSERT_EQ(v1.status, 200) << v1.body;
  EXPECT_EQ(v1.json()["urls"]["streaming_api"], "wss://social.example");
  EXPECT_EQ(get(d.url("/api/v2/instance")).json()["configuration"]["urls"]["streaming"], "wss://social.example");
}

TEST_F(Statuses, AccountStatusFiltersAndListPagination) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto root = post_id(bob, "root");
  auto mine = post_id(alice, "mine");
  ASSERT_EQ(post(alice, {{"status", "a reply"}, {"in_reply_to_id", root}}).status, 200);
  ASSERT_EQ(act(alice, root, "reblog").status, 200);
  auto me = get(d->url("/api/v1/accounts/verify_credentials"), as(alice, {})).json()["id"].get<std::string>();
  EXPECT_EQ(get(d->url("/api/v1/accounts/" + me + "/statuses")).json().size(), 3u);
  auto no_replies = get(d->url("/api/v1/accounts/" + me + "/statuses?exclude_replies=true")).json();
  EXPECT_EQ(no_replies.size(), 2u);
  auto no_reblogs = get(d->url("/api/v1/accounts/" + me + "/statuses?exclude_reblogs=true&exclude_replies=true")).json();
  ASSERT_EQ(no_reblogs.size(), 1u);
  EXPECT_EQ(no_reblogs[0]["id"], mine);
  EXPECT_EQ(get(d->url("/api/v1/timelines/public?local=true")).json().size(), 3u);
  EXPECT_EQ(get(d->url("/api/v1/timelines/public?remote=true")).json().size(), 0u);
  // Favourites page by the favourite's own cursor.
  std::vector<std::string> liked;
  for (int i = 0; i < 3; ++i) {
    liked.push_back(post_id(bob, "like " + std::to_string(i)));
    ASSERT_EQ(act(alice, liked.back(), "favourite").status, 200);
  }
  auto p1 = get(d->url("/api/v1/favourites?limit=2"), as(alice, {}));
  ASSERT_EQ(p1.json().size(), 2u);
  EXPECT_EQ(p1.json()[0]["id"], liked[2]);
  std::smatch m;
  auto link = p1.header("link");
  ASSERT_TRUE(std::regex_search(link, m, std::regex("<([^>]+)>; rel=\"next\""))) << link;
  auto p2 = get(m[1].str(), as(alice, {})).json();
  ASSERT_EQ(p2.size(), 1u);
  EXPECT_EQ(p2[0]["id"], liked[0]);
}
