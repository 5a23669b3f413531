// The Redis mirror of home timelines: member encoding, and the Lua scripts for
// push (never creating a set, trimming to the cap), removal and rebuild.
#include "storage/redis/feeds.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <random>

using namespace chorus;
namespace rd = storage::redis;
using storage::pg::feed_entry;

namespace {

feed_entry E(std::int64_t id, std::int64_t author, std::int64_t origin) {
  return {chorus::status_id{id}, chorus::account_id{author}, chorus::account_id{origin}};
}

struct FeedMirror : ::testing::Test {
  rd::context ctx{"127.0.0.1", std::stoi(test::env("CHORUS_TEST_REDIS_PORT")), std::chrono::milliseconds(2000)};
  std::vector<std::int64_t> accounts;

  // Account ids nobody else uses in the shared test Redis.
  std::int64_t account() {
    static std::mt19937_64 rng{std::random_device{}()};
    accounts.push_back(static_cast<std::int64_t>(rng() >> 2));
    return accounts.back();
  }
  rd::loaded_feed load(std::int64_t a) {
    auto r = ctx.pipeline(rd::feed_load(a, 60));
    return rd::parse_feed_load(r.at(0));
  }
  static std::vector<std::int64_t> ids(const rd::loaded_feed& f) {
    std::vector<std::int64_t> out;
    for (auto& e : f.entries)
      out.push_back(e.id);
    return out;
  }
  void TearDown() override {
    for (auto a : accounts)
      ctx.call({"DEL", rd::home_key(a)});
  }
};

} // namespace

TEST(FeedMirrorMembers, SortLikeTheirSixtyFourBitIds) {
  feed_entry big{chorus::status_id{(std::int64_t{1} << 62) + 1}, chorus::account_id{5}, {}},
      bigger{chorus::status_id{(std::int64_t{1} << 62) + 2}, chorus::account_id{6}, chorus::account_id{9}};
  auto a = rd::feed_member(big), b = rd::feed_member(bigger);
  EXPECT_LT(a, b) << "lexicographic order is id order, beyond double precision";
  auto back = rd::parse_feed_member(b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, bigger.id);
  EXPECT_EQ(back->author, 6);
  EXPECT_EQ(back->origin_author, 9);
  EXPECT_FALSE(rd::parse_feed_member("~c"));
  EXPECT_FALSE(rd::parse_feed_member("12:x:3"));
}

TEST_F(FeedMirror, PushNeverCreatesAMirrorAndTrimsToTheCap) {
  auto a = account(), b = account();
  ctx.call(rd::feed_store(a, {E(30, 1, 0), E(20, 1, 0), E(10, 2, 0)}, true, 60));
  auto touched = ctx.call(rd::feed_push({a, b}, {E(40, 3, 0)}, 3));
  EXPECT_EQ(touched.integer, 1) << "b has no mirror: it is rebuilt on demand, not half-filled";
  EXPECT_FALSE(load(b).exists);
  auto f = load(a);
  EXPECT_EQ(ids(f), (std::vector<std::int64_t>{40, 30, 20}));
  EXPECT_FALSE(f.complete) << "trimmed: older entries now live only in Postgres";
}

TEST_F(FeedMirror, StoreMarksCompletenessAndLoadRefreshesExpiry) {
  auto a = account();
  ctx.call(rd::feed_store(a, {}, true, 60));
  auto f = load(a);
  EXPECT_TRUE(f.exists) << "an empty timeline is still a timeline (sentinel)";
  EXPECT_TRUE(f.complete);
  EXPECT_TRUE(f.entries.empty());
  ctx.call({"EXPIRE", rd::home_key(a), "5"});
  ctx.pipeline(rd::feed_load(a, 600));
  EXPECT_GT(ctx.call({"TTL", rd::home_key(a)}).integer, 5);
}

TEST_F(FeedMirror, RemovalByMemberAndByAuthor) {
  auto a = account(), b = account();
  std::vector<feed_entry> es{E(60, 1, 0), E(50, 2, 1), E(40, 2, 0), E(30, 3, 2), E(20, 1, 0)};
  ctx.call(rd::feed_store(a, es, true, 60));
  ctx.call(rd::feed_store(b, es, true, 60));
  EXPECT_EQ(ctx.call(rd::feed_remove({a, b}, {E(60, 1, 0)})).integer, 2);
  EXPECT_EQ(ctx.call(rd::feed_remove_author(a, 1, false)).integer, 1);
  EXPECT_EQ(ids(load(a)), (std::vector<std::int64_t>{50, 40, 30}));
  EXPECT_EQ(ctx.call(rd::feed_remove_author(b, 2, true)).integer, 3) << "by 2, and reblogs of 2";
  EXPECT_EQ(ids(load(b)), (std::vector<std::int64_t>{20}));
}
