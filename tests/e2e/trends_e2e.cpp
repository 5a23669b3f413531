// Trending statuses and tags through a real chorusd: scores move with posts and
// interactions as they happen (no recompute), deletions and private statuses never show.
#include "support/client.hpp"

#include <algorithm>
#include <gtest/gtest.h>

using namespace chorus::test;

namespace {

struct Trends : client_fixture {
  void SetUp() override {
    // One interaction from one account is enough for a status here; tags keep the
    // default of two distinct accounts.
    start({{"CHORUS_TRENDS_MIN_STATUS_INTERACTIONS", "1"},
           {"CHORUS_TRENDS_MIN_STATUS_ACCOUNTS", "1"},
           {"CHORUS_TRENDS_MIN_TAG_ACCOUNTS", "2"},
           {"CHORUS_TRENDS_TICK_MS", "200"}});
  }
  void interact(const who& w, const std::string& id, const std::string& verb) {
    auto r = act(w, "/api/v1/statuses/" + id + "/" + verb);
    EXPECT_EQ(r.status, 200) << verb << ": " << r.body;
  }
  // Ids of /api/v1/trends/statuses as `w` sees them (nullptr = anonymous).
  std::vector<std::string> trending(const who* w = nullptr, const std::string& query = {}) {
    auto r = get(d->url("/api/v1/trends/statuses" + query), w ? auth(*w) : std::vector<std::string>{});
    std::vector<std::string> ids;
    if (r.status != 200)
      return ids;
    for (auto& s : r.json())
      ids.push_back(s["id"]);
    return ids;
  }
  nlohmann::json tag_named(const std::string& path, const std::string& name) {
    auto r = get(d->url(path));
    if (r.status != 200)
      return nullptr;
    for (auto& t : r.json())
      if (t["name"] == name)
        return t;
    return nullptr;
  }
};

} // namespace

TEST_F(Trends, TagsTrendWithHistoryFromDistinctAccountsOfPublicStatuses) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  post(alice, "first #Chorus");
  post(alice, "again #chorus");  // same account, same day: a use, not an account
  EXPECT_EQ(tag_named("/api/v1/trends/tags", "chorus"), nullptr);  // one account is not a trend
  post(bob, "me too #chorus");
  post(carol, "quiet #chorus", "private");  // private statuses never count
  nlohmann::json tag;
  ASSERT_TRUE(wait_until([&] {
    tag = tag_named("/api/v1/trends/tags", "chorus");
    return tag != nullptr && tag["history"][0]["accounts"] == "2";
  })) << tag.dump();
  EXPECT_NE(tag["url"].get<std::string>().find("/tags/chorus"), std::string::npos);
  EXPECT_EQ(tag["following"], false);
  ASSERT_EQ(tag["history"].size(), 7u);
  EXPECT_EQ(tag["history"][0]["uses"], "3");
  auto day0 = std::stoll(tag["history"][0]["day"].get<std::string>());
  EXPECT_EQ(day0 % 86400, 0);
  EXPECT_EQ(std::stoll(tag["history"][1]["day"].get<std::string>()), day0 - 86400);
  EXPECT_EQ(tag["history"][6]["uses"], "0");
  // /api/v1/trends is Mastodon's older name for the same list.
  EXPECT_NE(tag_named("/api/v1/trends", "chorus"), nullptr);
  EXPECT_EQ(get(d->url("/api/v1/trends/tags?limit=1")).json().size(), 1u);
}

TEST_F(Trends, StatusesRankByInteractionsAndDeletedOrPrivateOnesNeverShow) {
  auto alice = user("alice");
  auto bob = user("bob");
  auto carol = user("carol");
  auto a = post(alice, "the big one #news");
  auto b = post(bob, "a smaller one #news");
  auto quiet = post(alice, "nobody reacts");
  auto secret = post(carol, "secret for @bob", "private");
  interact(bob, a, "favourite");
  interact(carol, a, "reblog");
  interact(alice, b, "favourite");
  interact(bob, secret, "favourite");
  interact(bob, secret, "favourite");  // repeated: counted once
  // The most favourited/reblogged status first; nothing without interactions.
  std::vector<std::string> ids;
  ASSERT_TRUE(wait_until([&] { return (ids = trending()) == std::vector<std::string>{a, b}; }))
    << ::testing::PrintToString(ids);
  // A signed-in viewer gets the same ranking (and never a status it may not see).
  auto for_bob = trending(&bob);
  EXPECT_EQ(for_bob, (std::vector<std::string>{a, b}));
  for (const auto& id : trending(&carol))
    EXPECT_NE(id, secret);
  EXPECT_EQ(std::count(for_bob.begin(), for_bob.end(), quiet), 0);
  // Offset pagination with a Link header, as Mastodon.
  auto page = get(d->url("/api/v1/trends/statuses?limit=1"));
  ASSERT_EQ(page.status, 200);
  ASSERT_EQ(page.json().size(), 1u);
  EXPECT_EQ(page.json()[0]["id"], a);
  EXPECT_NE(page.header("link").find("offset=1"), std::string::npos) << page.header("link");
  EXPECT_EQ(trending(nullptr, "?offset=1"), (std::vector<std::string>{b}));
  // A deleted status leaves the trends.
  auto del = http("DELETE", d->url("/api/v1/statuses/" + a), "", auth(alice));
  ASSERT_EQ(del.status, 200) << del.body;
  ASSERT_TRUE(wait_until([&] { return (ids = trending()) == std::vector<std::string>{b}; }))
    << ::testing::PrintToString(ids);
  EXPECT_EQ(trending(&bob), (std::vector<std::string>{b}));
}

TEST_F(Trends, BadPaginationIsRefused) {
  for (auto path : {"/api/v1/trends/statuses", "/api/v1/trends/tags", "/api/v1/trends"}) {
    EXPECT_EQ(get(d->url(std::string(path) + "?limit=abc")).status, 422) << path;
    EXPECT_EQ(get(d->url(std::string(path) + "?limit=-1")).status, 422) << path;
    EXPECT_EQ(get(d->url(std::string(path) + "?limit=0")).status, 422) << path;
    EXPECT_EQ(get(d->url(std::string(path) + "?offset=-5")).status, 422) << path;
    auto ok = get(d->url(std::string(path) + "?limit=1000&offset=3"));  // over the maximum: clamped
    EXPECT_EQ(ok.status, 200) << path << ": " << ok.body;
    EXPECT_TRUE(ok.json().is_array()) << path;
  }
  // A token that is present must be valid.
  EXPECT_EQ(get(d->url("/api/v1/trends/statuses"), {"Authorization: Bearer nope"}).status, 401);
}
