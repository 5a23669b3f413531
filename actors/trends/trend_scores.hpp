#pragma once
// Trending statuses and hashtags from time-decayed scores, kept incrementally.
//
// Pure logic, no CAF and no clock: every call that needs the time takes `now`
// (Unix seconds as a double), so unit tests drive it exactly.
//
// The decay trick: an item's score at time t is  sum_i w_i * exp(-lambda * (t - t_i)).
// Factoring out the common exp(-lambda * (t - t0)) for a fixed epoch t0 gives
// log_score = log(sum_i w_i * exp(lambda * (t_i - t0))), which never changes with
// the passage of time. Adding an event is one log-add-exp (O(1)), every item
// shares the same factor, so ordering by log_score is the ranking at any instant:
// an ordered index on log_score is kept up to date on each event and nothing is
// ever recomputed. The current value is exp(log_score - lambda * (now - t0)).
// log_score lives in log space, so it neither overflows nor underflows.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chorus::actors {

struct trend_settings {
  double status_half_life_s = 6 * 3600.0;  // a status's score halves every 6 h
  double tag_half_life_s = 12 * 3600.0;    // a tag's score halves every 12 h
  // Weights of what makes a status trend (bookmarks are private and do not count).
  double favourite_weight = 1;
  double reblog_weight = 2;
  double reply_weight = 1;
  // Every tracked status starts with this prior at its creation time. It never makes
  // a status trend (the thresholds need interactions) but gives fresh statuses a
  // value, so eviction and pruning remove stale ones first, never the newest.
  double post_weight = 0.1;
  // Before anything trends: a status needs this many live interactions (favourites,
  // reblogs, replies minus undone ones) from this many distinct accounts; a tag this
  // many distinct accounts on the current or the previous UTC day.
  int min_status_interactions = 3;
  int min_status_accounts = 2;
  int min_tag_accounts = 2;
  // Memory bounds: tracked statuses and tags (the lowest-scored is evicted beyond
  // the cap), accounts remembered per status (to count each account once per verb)
  // and per tag per day (distinct accounts; beyond the cap every use counts as new).
  std::size_t max_statuses = 20'000;
  std::size_t max_tags = 5'000;
  std::size_t max_status_accounts = 32;
  std::size_t max_day_accounts = 128;  // kept for today and yesterday only
  // Pruning: an entry whose current value is below `prune_floor` goes away (with the
  // defaults a status nobody interacted with lasts one half-life).
  double prune_floor = 0.05;
  std::size_t prune_batch = 1'000;  // entries examined per prune() call at most
};

// What the scores need to know about a new status (or reblog).
struct trend_post {
  std::int64_t id = 0;
  std::int64_t author = 0;
  std::int64_t reblog_of_id = 0;  // reblogs never trend and carry no tag uses
  std::int16_t visibility = 0;    // 0 public, 1 unlisted, 2 private, 3 direct
  std::vector<std::string> tags;  // lower-case names
};

enum class trend_action : std::uint8_t { favourite, unfavourite, reblog, unreblog };

// A recent public status loaded from Postgres at startup (counts, no interaction times).
struct trend_seed {
  std::int64_t id = 0;
  std::int64_t author = 0;
  double created_at = 0;  // Unix seconds
  std::int32_t favourites = 0;
  std::int32_t reblogs = 0;
  std::int32_t replies = 0;
  std::vector<std::string> tags;
};

struct trend_day {
  std::int64_t day = 0;  // Unix seconds of the UTC day start
  std::int64_t uses = 0;
  std::int64_t accounts = 0;
};

struct trend_tag_entry {
  std::string name;
  double score = 0;              // current decayed value
  std::vector<trend_day> history;  // 7 days, newest first, zero days included
};

class trend_scores {
public:
  static constexpr int history_days = 7;
  static constexpr std::int64_t day_seconds = 86'400;

  // `epoch` is t0 of the log-space scores: any fixed time near the start (e.g. now).
  trend_scores(trend_settings settings, double epoch);

  // A status was created: public originals become trend candidates; their tags
  // count as uses by the author. Reblogs, unlisted, private and direct ones are ignored.
  void on_post(const trend_post& p, double now);
  // `account` acted on `status`. Only tracked statuses (public originals) count, an
  // author acting on their own status does not, and each account counts once per
  // verb. Undoing lowers the interaction count (so the thresholds apply again) but
  // not the score: what the action added decays on its own, and because the account
  // stays remembered a favourite/unfavourite toggle cannot pump the score.
  void on_action(std::int64_t status, std::int64_t account, trend_action a, double now);
  // `account` replied to `parent` (counted like a favourite, once per account).
  void on_reply(std::int64_t parent, std::int64_t account, double now);
  // Deleted statuses leave the ranking at once (their tag uses stay, as in Mastodon).
  void on_removed(const std::vector<std::int64_t>& ids);
  // Startup seeding: ignored for statuses already tracked (live events win), so
  // seeding after live events never counts anything twice.
  void seed(const trend_seed& s);

  // Trending status ids, most trending first, meeting the thresholds.
  std::vector<std::int64_t> top_statuses(std::size_t offset, std::size_t limit) const;
  // Trending tags with their 7-day history as of `now`, meeting the threshold.
  std::vector<trend_tag_entry> top_tags(std::size_t offset, std::size_t limit, double now) const;

  // Drops decayed entries (at most `prune_batch` statuses and as many tags), lowest
  // scores first; returns how many.
  std::size_t prune(double now);

  // Current decayed values (0 when unknown), for tests and stats.
  double status_score(std::int64_t id, double now) const;
  double tag_score(const std::string& name, double now) const;
  bool tracks_status(std::int64_t id) const { return statuses_.count(id) > 0; }
  std::size_t status_count() const noexcept { return statuses_.size(); }
  std::size_t tag_count() const noexcept { return tags_.size(); }
  const trend_settings& settings() const noexcept { return cfg_; }

private:
  static constexpr double empty = -std::numeric_limits<double>::infinity();

  struct status_entry {
    std::int64_t author = 0;
    double created = 0;
    double log_score = empty;
    std::int32_t interactions = 0;  // live: favourites + reblogs + replies - undone
    std::int32_t accounts = 0;      // distinct accounts that interacted
    std::vector<std::pair<std::int64_t, std::uint8_t>> seen;  // account → verb bits (bounded)
  };
  struct day_bucket {
    std::int64_t day = 0;
    std::int64_t uses = 0;
    std::int64_t accounts = 0;
    std::vector<std::int64_t> who;  // sorted, bounded by max_day_accounts
  };
  struct tag_entry {
    double log_score = empty;
    double last_use = 0;
    std::vector<day_bucket> days;  // newest first, at most history_days
  };
  // Ranking indexes: highest log_score first; ties by newer id / name.
  using status_key = std::pair<double, std::int64_t>;
  using tag_key = std::pair<double, std::string>;
  struct by_score_desc {
    template <class K>
    bool operator()(const K& a, const K& b) const {
      if (a.first != b.first)
        return a.first > b.first;
      return a.second > b.second;
    }
  };

  double log_weight(double w, double at, double half_life) const;
  void add_status_weight(std::int64_t id, status_entry& e, double w, double now);
  bool remember(status_entry& e, std::int64_t account, std::uint8_t bit);
  void track_status(std::int64_t id, std::int64_t author, double created);
  void use_tag(const std::string& name, std::int64_t account, double at);
  bool status_trends(const status_entry& e) const;
  bool tag_trends(const tag_entry& e, double now) const;
  std::vector<trend_day> history(const tag_entry& e, double now) const;
  void evict_statuses();
  void evict_tags();

  trend_settings cfg_;
  double epoch_;
  std::unordered_map<std::int64_t, status_entry> statuses_;
  std::set<status_key, by_score_desc> status_rank_;
  std::unordered_map<std::string, tag_entry> tags_;
  std::set<tag_key, by_score_desc> tag_rank_;
};

// log(exp(a) + exp(b)) without overflow; either may be -inf (empty).
double log_add_exp(double a, double b) noexcept;

// Unix seconds of the start of the UTC day containing `t`.
std::int64_t utc_day_start(double t) noexcept;

} // namespace chorus::actors
