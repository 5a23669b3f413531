// The home-timeline logic of a feed actor: pagination, caps, revocation, merging
// and the home rules for entries that were not pushed.
#include "actors/feed/timeline.hpp"

#include <gtest/gtest.h>

using namespace chorus::actors::feed;

namespace {

using chorus::account_id;
using chorus::status_id;

feed_entry E(std::int64_t id, std::int64_t author, std::int64_t origin) {
  return {status_id{id}, account_id{author}, account_id{origin}};
}
status_id S(std::int64_t id) { return status_id{id}; }
account_id A(std::int64_t id) { return account_id{id}; }

std::vector<feed_entry> descending(std::int64_t from, std::int64_t to, std::int64_t author = 7) {
  std::vector<feed_entry> out;
  for (auto id = from; id >= to; --id)
    out.push_back(E(id, author, 0));
  return out;
}

std::vector<std::int64_t> ids(const std::vector<feed_entry>& es) {
  std::vector<std::int64_t> out;
  for (auto& e : es)
    out.push_back(e.id);
  return out;
}

page pg(std::int64_t max_id, std::int64_t since_id, std::int64_t min_id, int limit) {
  page p;
  p.max_id = max_id;
  p.since_id = since_id;
  p.min_id = min_id;
  p.limit = limit;
  return p;
}

} // namespace

TEST(FeedTimeline, PagesFollowMastodonCursors) {
  auto es = descending(100, 1);
  EXPECT_EQ(ids(select_page(es, pg(0, 0, 0, 3))), (std::vector<std::int64_t>{100, 99, 98}));
  EXPECT_EQ(ids(select_page(es, pg(98, 0, 0, 3))), (std::vector<std::int64_t>{97, 96, 95}));
  // since_id: newest first down to (exclusive) since_id
  EXPECT_EQ(ids(select_page(es, pg(0, 97, 0, 2))), (std::vector<std::int64_t>{100, 99}));
  // min_id: the entries just above min_id, still returned newest first
  EXPECT_EQ(ids(select_page(es, pg(0, 0, 10, 3))), (std::vector<std::int64_t>{13, 12, 11}));
  EXPECT_EQ(ids(select_page(es, pg(12, 0, 10, 5))), (std::vector<std::int64_t>{11}));
  EXPECT_TRUE(select_page(es, pg(1, 0, 0, 20)).empty());
  EXPECT_EQ(select_page(es, pg(0, 0, 0, 500)).size(), 40u);  // limit is capped at 40
  // a max_id that is not an entry (deleted meanwhile) still pages correctly
  auto gap = es;
  gap.erase(gap.begin() + 2);  // drop 98
  EXPECT_EQ(ids(select_page(gap, pg(98, 0, 0, 2))), (std::vector<std::int64_t>{97, 96}));
}

TEST(FeedTimeline, InsertKeepsOrderDedupesAndCaps) {
  timeline tl(5);
  tl.assign(descending(10, 8), true);
  EXPECT_EQ(tl.insert({E(12, 1, 0), E(9, 1, 0), E(11, 1, 0)}), 2u);  // 9 is already there
  EXPECT_EQ(ids(tl.entries()), (std::vector<std::int64_t>{12, 11, 10, 9, 8}));
  EXPECT_TRUE(tl.complete());
  EXPECT_EQ(tl.insert({E(13, 1, 0)}), 1u);
  EXPECT_EQ(ids(tl.entries()), (std::vector<std::int64_t>{13, 12, 11, 10, 9}));
  EXPECT_FALSE(tl.complete()) << "trimming drops entries that now only Postgres has";
  EXPECT_EQ(tl.insert({E(2, 1, 0)}), 0u) << "older than the window of a trimmed timeline";
}

TEST(FeedTimeline, BeyondTellsWhenPostgresMustAnswer) {
  timeline tl(3);
  tl.assign(descending(10, 8), true);
  EXPECT_FALSE(tl.beyond(pg(8, 0, 0, 20))) << "complete: nothing older exists";
  tl.insert({E(11, 1, 0)});
  EXPECT_FALSE(tl.complete());
  EXPECT_FALSE(tl.beyond(pg(0, 0, 0, 20)));
  EXPECT_FALSE(tl.beyond(pg(11, 0, 0, 20)));
  EXPECT_TRUE(tl.beyond(pg(9, 0, 0, 20)));
  EXPECT_TRUE(tl.beyond(pg(0, 0, 3, 20)));
  timeline empty(3);
  EXPECT_TRUE(empty.beyond(pg(0, 0, 0, 20))) << "an incomplete empty timeline knows nothing";
}

TEST(FeedTimeline, RevocationByIdAuthorAndReblogOrigin) {
  timeline tl(100);
  tl.assign({E(10, 1, 0), E(9, 2, 0), E(8, 3, 1), E(7, 1, 0), E(6, 3, 2)}, true);
  EXPECT_EQ(tl.remove_ids({S(9), S(42)}), 1u);
  EXPECT_EQ(tl.remove_author(A(1), false), 2u);
  EXPECT_EQ(ids(tl.entries()), (std::vector<std::int64_t>{8, 6}));
  EXPECT_EQ(tl.remove_author(A(2), true), 1u) << "a block also removes reblogs of the blocked account";
  EXPECT_EQ(ids(tl.entries()), (std::vector<std::int64_t>{8}));
}

TEST(FeedTimeline, MergeIsNewestFirstWithoutDuplicates) {
  auto m = merge_newest_first({E(9, 1, 0), E(5, 1, 0), E(1, 1, 0)}, {E(10, 2, 0), E(5, 1, 0), E(3, 2, 0)});
  EXPECT_EQ(ids(m), (std::vector<std::int64_t>{10, 9, 5, 3, 1}));
}

TEST(FeedTimeline, ViewerFactsApplyHomeRules) {
  viewer_facts f(A(100));
  chorus::storage::pg::feed_snapshot snap;
  snap.following = {{1, 50'000, true}, {2, 10, false}, {3, 20'000, true}};
  snap.hidden = {3};
  f.assign(snap);
  EXPECT_EQ(f.large_followees(10'000), (std::vector<account_id>{A(1)})) << "3 is muted";
  auto entry = [](std::int64_t author, std::int64_t origin, std::int64_t reply_to, std::int16_t vis) {
    return ring_entry{E(1, author, origin), A(reply_to), vis};
  };
  EXPECT_TRUE(f.admits(entry(1, 0, 0, 0)));
  EXPECT_TRUE(f.admits(entry(1, 0, 0, 2))) << "private: the viewer follows";
  EXPECT_FALSE(f.admits(entry(1, 0, 0, 3))) << "direct statuses are pushed, never merged";
  EXPECT_FALSE(f.admits(entry(9, 0, 0, 0))) << "not followed";
  EXPECT_FALSE(f.admits(entry(3, 0, 0, 0))) << "muted";
  EXPECT_FALSE(f.admits(entry(2, 1, 0, 0))) << "reblogs hidden for 2";
  EXPECT_FALSE(f.admits(entry(1, 3, 0, 0))) << "reblog of a muted account";
  EXPECT_TRUE(f.admits(entry(1, 2, 0, 0)));
  EXPECT_FALSE(f.admits(entry(1, 0, 55, 0))) << "reply to someone the viewer does not follow";
  EXPECT_TRUE(f.admits(entry(1, 0, 2, 0))) << "reply to someone the viewer follows";
  EXPECT_TRUE(f.admits(entry(1, 0, 100, 0))) << "reply to the viewer";
  EXPECT_TRUE(f.admits(entry(1, 0, 1, 0))) << "self-reply (thread)";
  f.unfollow(A(1));
  EXPECT_FALSE(f.admits(entry(1, 0, 0, 0)));
  EXPECT_TRUE(f.admits(entry(100, 0, 55, 3))) << "one's own statuses always";
}

TEST(FeedTimeline, FlagsOnlyChangeKnownStatuses) {
  flag_cache fc;
  fc.set(S(5), flag_cache::favourited, true);
  EXPECT_FALSE(fc.known(S(5))) << "an unknown status is loaded later, not guessed";
  fc.learn_none(S(5));
  fc.set(S(5), flag_cache::favourited, true);
  fc.set(S(5), flag_cache::bookmarked, true);
  fc.set(S(5), flag_cache::favourited, false);
  EXPECT_EQ(fc.get(S(5)), flag_cache::bookmarked);
  fc.clear();
  EXPECT_FALSE(fc.known(S(5)));
}
