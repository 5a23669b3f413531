// Trend scores: decay, thresholds, removal, tag history and memory bounds, with
// an injected time (Unix seconds) and no clock.
#include "actors/trends/trend_scores.hpp"

#include <cmath>
#include <gtest/gtest.h>

using namespace chorus::actors;

namespace {

constexpr double hour = 3600;
constexpr double t0 = 1'700'000'000;  // 2023-11-14T22:13:20Z

trend_settings lenient() {
  trend_settings s;
  s.status_half_life_s = hour;
  s.tag_half_life_s = hour;
  s.min_status_interactions = 1;
  s.min_status_accounts = 1;
  s.min_tag_accounts = 1;
  return s;
}

trend_post post(std::int64_t id, std::int64_t author, std::vector<std::string> tags = {}, std::int16_t vis = 0) {
  return {id, author, 0, vis, std::move(tags)};
}

} // namespace

TEST(TrendScores, LogAddExpHandlesEmptyAndLargeValues) {
  auto inf = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(log_add_exp(inf, inf), inf);
  EXPECT_DOUBLE_EQ(log_add_exp(inf, 2.0), 2.0);
  EXPECT_NEAR(log_add_exp(1000.0, 1000.0), 1000.0 + std::log(2.0), 1e-9);  // exp(1000) would overflow
  EXPECT_EQ(utc_day_start(t0), 1'699'920'000);
}

TEST(TrendScores, ScoreHalvesAfterOneHalfLifeRelativeToAFreshItem) {
  trend_scores s(lenient(), t0);
  s.on_post(post(1, 10), t0);
  s.on_action(1, 20, trend_action::favourite, t0);
  double fresh = s.status_score(1, t0);
  EXPECT_NEAR(fresh, 1.1, 1e-9);  // post prior 0.1 + favourite 1
  EXPECT_NEAR(s.status_score(1, t0 + hour), fresh / 2, 1e-9);
  EXPECT_NEAR(s.status_score(1, t0 + 3 * hour), fresh / 8, 1e-9);
  // The same events an hour later weigh twice as much at that time.
  s.on_post(post(2, 11), t0 + hour);
  s.on_action(2, 20, trend_action::favourite, t0 + hour);
  EXPECT_NEAR(s.status_score(2, t0 + hour), 2 * s.status_score(1, t0 + hour), 1e-9);
  EXPECT_EQ(s.top_statuses(0, 10), (std::vector<std::int64_t>{2, 1}));
}

TEST(TrendScores, AnOlderItemIsOvertakenWithoutRecomputation) {
  trend_scores s(lenient(), t0);
  s.on_post(post(1, 10), t0);
  for (std::int64_t a = 20; a < 23; ++a)
    s.on_action(1, a, trend_action::favourite, t0);  // 3.1 at t0
  s.on_post(post(2, 11), t0 + 2 * hour);
  s.on_action(2, 30, trend_action::favourite, t0 + 2 * hour);  // 1.1 vs 3.1/4
  EXPECT_EQ(s.top_statuses(0, 10), (std::vector<std::int64_t>{2, 1}));
  trend_scores s2(lenient(), t0);
  s2.on_post(post(1, 10), t0);
  for (std::int64_t a = 20; a < 23; ++a)
    s2.on_action(1, a, trend_action::favourite, t0);
  s2.on_post(post(2, 11), t0 + hour / 2);
  s2.on_action(2, 30, trend_action::favourite, t0 + hour / 2);  // 1.1 vs 3.1/√2 ≈ 2.19
  EXPECT_EQ(s2.top_statuses(0, 10), (std::vector<std::int64_t>{1, 2}));
  s2.on_action(2, 31, trend_action::reblog, t0 + hour / 2);  // 3.1 vs 2.19: overtaken
  EXPECT_EQ(s2.top_statuses(0, 10), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(s2.top_statuses(1, 10), (std::vector<std::int64_t>{1}));  // offset
  EXPECT_EQ(s2.top_statuses(0, 1), (std::vector<std::int64_t>{2}));   // limit
}

TEST(TrendScores, ThresholdsNeedInteractionsFromDistinctAccounts) {
  auto cfg = lenient();
  cfg.min_status_interactions = 2;
  cfg.min_status_accounts = 2;
  trend_scores s(cfg, t0);
  s.on_post(post(1, 10), t0);
  s.on_action(1, 10, trend_action::favourite, t0);  // the author's own: ignored
  s.on_action(1, 20, trend_action::favourite, t0);
  s.on_action(1, 20, trend_action::favourite, t0);  // repeated event: ignored
  EXPECT_TRUE(s.top_statuses(0, 10).empty());
  s.on_action(1, 20, trend_action::reblog, t0);  // two interactions, one account
  EXPECT_TRUE(s.top_statuses(0, 10).empty());
  s.on_action(1, 21, trend_action::favourite, t0);
  EXPECT_EQ(s.top_statuses(0, 10), (std::vector<std::int64_t>{1}));
  double before = s.status_score(1, t0);
  EXPECT_NEAR(before, 0.1 + 1 + 2 + 1, 1e-9);
  // Undoing lowers the live count below the threshold; toggling does not pump the score.
  s.on_action(1, 20, trend_action::unreblog, t0);
  s.on_action(1, 21, trend_action::unfavourite, t0);
  EXPECT_TRUE(s.top_statuses(0, 10).empty());
  s.on_action(1, 21, trend_action::favourite, t0);
  s.on_action(1, 21, trend_action::unfavourite, t0);
  s.on_action(1, 21, trend_action::favourite, t0);
  EXPECT_EQ(s.top_statuses(0, 10), (std::vector<std::int64_t>{1}));
  EXPECT_NEAR(s.status_score(1, t0), before, 1e-9);
  // Unmatched undos never drive anything negative or NaN.
  for (int i = 0; i < 5; ++i)
    s.on_action(1, 99, trend_action::unfavourite, t0);
  EXPECT_TRUE(std::isfinite(s.status_score(1, t0 + 1000 * hour)));
  EXPECT_GE(s.status_score(1, t0 + 1000 * hour), 0.0);
}

TEST(TrendScores, OnlyPublicOriginalsTrend) {
  trend_scores s(lenient(), t0);
  s.on_post(post(1, 10, {"x"}, 1), t0);  // unlisted
  s.on_post(post(2, 10, {"x"}, 2), t0);  // private
  s.on_post(post(3, 10, {"x"}, 3), t0);  // direct
  trend_post reblog{4, 11, 5, 0, {}};
  s.on_post(reblog, t0);
  for (std::int64_t id = 1; id <= 5; ++id)
    s.on_action(id, 20, trend_action::favourite, t0);
  EXPECT_TRUE(s.top_statuses(0, 10).empty());
  EXPECT_EQ(s.status_count(), 0u);
  EXPECT_TRUE(s.top_tags(0, 10, t0).empty());  // tags of non-public statuses are not uses
}

TEST(TrendScores, RemovedStatusesDisappear) {
  trend_scores s(lenient(), t0);
  s.on_post(post(1, 10), t0);
  s.on_post(post(2, 10), t0);
  s.on_action(1, 20, trend_action::reblog, t0);
  s.on_action(2, 20, trend_action::favourite, t0);
  EXPECT_EQ(s.top_statuses(0, 10), (std::vector<std::int64_t>{1, 2}));
  s.on_removed({1, 999});
  EXPECT_EQ(s.top_statuses(0, 10), (std::vector<std::int64_t>{2}));
  EXPECT_FALSE(s.tracks_status(1));
  s.on_action(1, 21, trend_action::favourite, t0);  // late events do not resurrect it
  EXPECT_EQ(s.top_statuses(0, 10), (std::vector<std::int64_t>{2}));
}

TEST(TrendScores, TagHistoryCountsUsesAndDistinctAccountsPerUtcDay) {
  trend_scores s(lenient(), t0);
  auto day0 = utc_day_start(t0);
  s.on_post(post(1, 10, {"cats"}), t0);
  s.on_post(post(2, 10, {"cats"}), t0 + 60);  // same account, same day
  s.on_post(post(3, 11, {"cats", "dogs"}), t0 + 120);
  s.on_post(post(4, 10, {"cats"}), day0 + 86'400 + 10);  // next UTC day
  auto now = day0 + 86'400 + hour;
  auto tags = s.top_tags(0, 10, now);
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0].name, "cats");
  ASSERT_EQ(tags[0].history.size(), 7u);
  EXPECT_EQ(tags[0].history[0].day, day0 + 86'400);
  EXPECT_EQ(tags[0].history[0].uses, 1);
  EXPECT_EQ(tags[0].history[0].accounts, 1);
  EXPECT_EQ(tags[0].history[1].day, day0);
  EXPECT_EQ(tags[0].history[1].uses, 3);
  EXPECT_EQ(tags[0].history[1].accounts, 2);
  for (std::size_t i = 2; i < 7; ++i) {
    EXPECT_EQ(tags[0].history[i].day, day0 - static_cast<std::int64_t>(i - 1) * 86'400);
    EXPECT_EQ(tags[0].history[i].uses, 0);
  }
  // The score grew once per account per day, not per use: 3 distinct (account, day) pairs.
  EXPECT_NEAR(s.tag_score("cats", day0 + 86'400 + 10), 1 + std::pow(0.5, (day0 + 86'400 + 10 - t0) / hour) *
                                                                (1 + std::pow(2.0, 120 / hour)),
              1e-6);
}

TEST(TrendScores, TagsNeedDistinctAccountsOnTheCurrentOrPreviousDay) {
  auto cfg = lenient();
  cfg.min_tag_accounts = 2;
  cfg.tag_half_life_s = 48 * hour;
  trend_scores s(cfg, t0);
  s.on_post(post(1, 10, {"solo"}), t0);
  s.on_post(post(2, 10, {"solo"}), t0 + 1);
  s.on_post(post(3, 10, {"pair"}), t0);
  EXPECT_TRUE(s.top_tags(0, 10, t0 + 2).empty());
  s.on_post(post(4, 11, {"pair"}), t0 + 2);
  auto tags = s.top_tags(0, 10, t0 + 3);
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0].name, "pair");
  EXPECT_EQ(s.top_tags(0, 10, t0 + 86'400).size(), 1u);      // yesterday still counts
  EXPECT_TRUE(s.top_tags(0, 10, t0 + 3 * 86'400).empty());  // two days later it does not
}

TEST(TrendScores, MemoryStaysBoundedAndDecayedEntriesArePruned) {
  auto cfg = lenient();
  cfg.max_statuses = 100;
  cfg.max_tags = 50;
  cfg.prune_batch = 10;
  trend_scores s(cfg, t0);
  s.on_post(post(1, 10, {"hot"}), t0);
  for (std::int64_t a = 20; a < 25; ++a)
    s.on_action(1, a, trend_action::favourite, t0);
  for (std::int64_t id = 2; id <= 1000; ++id)
    s.on_post(post(id, 10, {"t" + std::to_string(id)}), t0 + static_cast<double>(id));
  EXPECT_EQ(s.status_count(), 100u);
  EXPECT_EQ(s.tag_count(), 50u);
  EXPECT_TRUE(s.tracks_status(1));     // the scored one outlives colder newer ones
  EXPECT_TRUE(s.tracks_status(1000));  // and the newest is never the one evicted
  EXPECT_FALSE(s.tracks_status(2));
  // Ten half-lives later everything is below the floor: removed ten per kind per call.
  auto later = t0 + 10 * hour;
  EXPECT_EQ(s.prune(later), 20u);
  EXPECT_EQ(s.status_count(), 90u);
  while (s.prune(later) > 0) {}
  EXPECT_EQ(s.status_count(), 0u);
  EXPECT_EQ(s.tag_count(), 0u);
  // Above the floor nothing goes.
  s.on_post(post(2000, 10, {"fresh"}), later);
  EXPECT_EQ(s.prune(later + 60), 0u);
  EXPECT_EQ(s.status_count(), 1u);
}

TEST(TrendScores, SeedingRestoresTrendsAndNeverCountsTwice) {
  auto cfg = lenient();
  cfg.min_status_interactions = 2;
  cfg.min_status_accounts = 2;
  cfg.min_tag_accounts = 2;
  trend_scores s(cfg, t0);
  s.on_post(post(2, 11, {"news"}), t0 + 10);  // live before the seed answered
  double live = s.status_score(2, t0 + 10);
  s.seed({1, 10, t0, 3, 1, 0, {"news"}});
  s.seed({2, 11, t0 + 10, 5, 5, 0, {"news"}});  // already tracked: ignored
  s.seed({3, 12, t0, 1, 0, 0, {}});             // below the thresholds
  EXPECT_NEAR(s.status_score(2, t0 + 10), live, 1e-12);
  EXPECT_NEAR(s.status_score(1, t0), 0.1 + 3 + 2, 1e-9);
  EXPECT_EQ(s.top_statuses(0, 10), (std::vector<std::int64_t>{1}));
  auto tags = s.top_tags(0, 10, t0 + 20);
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0].history[0].uses, 2);  // the live use and seeded status 1, not the ignored seed
}
