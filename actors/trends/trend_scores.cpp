#include "actors/trends/trend_scores.hpp"

#include <algorithm>
#include <cmath>

namespace chorus::actors {
namespace {

// Verb bits remembered per (status, account): `ever` bits make each account count
// once per verb for the score; `active` bits let undoing lower the live count once.
constexpr std::uint8_t fav_ever = 1, fav_active = 2, reblog_ever = 4, reblog_active = 8, replied = 16;

double lambda_of(double half_life) { return std::log(2.0) / std::max(half_life, 1.0); }

double current_value(double log_score, double now, double epoch, double half_life) {
  if (std::isinf(log_score))
    return 0;  // empty (exp(-inf) would be 0 too; this avoids -inf - x surprises)
  return std::exp(log_score - lambda_of(half_life) * (now - epoch));
}

} // namespace

double log_add_exp(double a, double b) noexcept {
  if (std::isinf(a) && a < 0)
    return b;
  if (std::isinf(b) && b < 0)
    return a;
  double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log1p(std::exp(lo - hi));
}

std::int64_t utc_day_start(double t) noexcept {
  auto d = static_cast<std::int64_t>(std::floor(t / static_cast<double>(trend_scores::day_seconds)));
  return d * trend_scores::day_seconds;
}

trend_scores::trend_scores(trend_settings settings, double epoch) : cfg_(settings), epoch_(epoch) {}

double trend_scores::log_weight(double w, double at, double half_life) const {
  return std::log(w) + lambda_of(half_life) * (at - epoch_);
}

// The only place a status's score changes: keeps the ranking index in step.
void trend_scores::add_status_weight(std::int64_t id, status_entry& e, double w, double at) {
  if (!(w > 0))
    return;  // zero, negative or NaN weights would poison the log
  status_rank_.erase({e.log_score, id});
  e.log_score = log_add_exp(e.log_score, log_weight(w, at, cfg_.status_half_life_s));
  status_rank_.insert({e.log_score, id});
}

// Records that `account` did `bit`; false if it had already. Beyond the per-status
// cap accounts are not remembered and every action counts (approximate, and only
// for statuses far past any threshold).
bool trend_scores::remember(status_entry& e, std::int64_t account, std::uint8_t bit) {
  auto it = std::find_if(e.seen.begin(), e.seen.end(), [&](const auto& p) { return p.first == account; });
  if (it == e.seen.end()) {
    ++e.accounts;
    if (e.seen.size() < cfg_.max_status_accounts)
      e.seen.emplace_back(account, bit);
    return true;
  }
  if (it->second & bit)
    return false;
  it->second |= bit;
  return true;
}

void trend_scores::track_status(std::int64_t id, std::int64_t author, double created) {
  auto& e = statuses_[id];
  e.author = author;
  e.created = created;
  status_rank_.insert({e.log_score, id});
  add_status_weight(id, e, cfg_.post_weight, created);
  evict_statuses();
}

void trend_scores::on_post(const trend_post& p, double now) {
  if (p.reblog_of_id != 0 || p.visibility != 0 || p.id == 0)
    return;
  if (!statuses_.count(p.id))
    track_status(p.id, p.author, now);
  for (const auto& t : p.tags)
    use_tag(t, p.author, now);
}

void trend_scores::on_action(std::int64_t status, std::int64_t account, trend_action a, double now) {
  auto it = statuses_.find(status);
  if (it == statuses_.end() || it->second.author == account)
    return;
  auto& e = it->second;
  bool fav = a == trend_action::favourite || a == trend_action::unfavourite;
  auto ever = fav ? fav_ever : reblog_ever;
  auto active = fav ? fav_active : reblog_active;
  auto seen = std::find_if(e.seen.begin(), e.seen.end(), [&](const auto& p) { return p.first == account; });
  bool known = seen != e.seen.end();
  if (a == trend_action::unfavourite || a == trend_action::unreblog) {
    if (known && !(seen->second & active))
      return;  // nothing to undo
    if (known)
      seen->second &= static_cast<std::uint8_t>(~active);
    e.interactions = std::max(0, e.interactions - 1);
    return;
  }
  if (known && (seen->second & active))
    return;  // a repeated event for an action already counted
  ++e.interactions;
  bool first_time = remember(e, account, ever);
  if (auto s = std::find_if(e.seen.begin(), e.seen.end(), [&](const auto& p) { return p.first == account; });
      s != e.seen.end())
    s->second |= active;
  if (first_time)
    add_status_weight(status, e, fav ? cfg_.favourite_weight : cfg_.reblog_weight, now);
}

void trend_scores::on_reply(std::int64_t parent, std::int64_t account, double now) {
  auto it = statuses_.find(parent);
  if (it == statuses_.end() || it->second.author == account)
    return;
  if (!remember(it->second, account, replied))
    return;
  ++it->second.interactions;
  add_status_weight(parent, it->second, cfg_.reply_weight, now);
}

void trend_scores::on_removed(const std::vector<std::int64_t>& ids) {
  for (auto id : ids) {
    auto it = statuses_.find(id);
    if (it == statuses_.end())
      continue;
    status_rank_.erase({it->second.log_score, id});
    statuses_.erase(it);
  }
}

void trend_scores::seed(const trend_seed& s) {
  if (s.id == 0 || statuses_.count(s.id))
    return;
  track_status(s.id, s.author, s.created_at);
  auto it = statuses_.find(s.id);
  if (it == statuses_.end())
    return;  // evicted at once: everything tracked scores higher
  auto& e = it->second;
  // Interaction times are unknown: date them at the status's creation, which
  // under-rates rather than over-rates. Favourites and reblogs are one per account,
  // so the larger count is a lower bound of the distinct accounts.
  double w = s.favourites * cfg_.favourite_weight + s.reblogs * cfg_.reblog_weight + s.replies * cfg_.reply_weight;
  add_status_weight(s.id, e, w, s.created_at);
  e.interactions = std::max(0, s.favourites) + std::max(0, s.reblogs) + std::max(0, s.replies);
  e.accounts = std::max({0, s.favourites, s.reblogs});
  for (const auto& t : s.tags)
    use_tag(t, s.author, s.created_at);
}

// A use of tag `name` by `account` at `at`: the score grows once per account per
// UTC day (uses by the same account that day only raise `uses`).
void trend_scores::use_tag(const std::string& name, std::int64_t account, double at) {
  auto [it, inserted] = tags_.try_emplace(name);
  auto& e = it->second;
  auto day = utc_day_start(at);
  auto b = std::find_if(e.days.begin(), e.days.end(), [&](const day_bucket& d) { return d.day <= day; });
  if (b == e.days.end() || b->day != day) {
    b = e.days.insert(b, day_bucket{day, 0, 0, {}});
    // Distinctness only matters for today and yesterday: free older account sets.
    for (std::size_t i = 2; i < e.days.size(); ++i)
      std::vector<std::int64_t>().swap(e.days[i].who);
  }
  auto pos = b - e.days.begin();
  if (pos >= history_days) {  // older than the kept week: neither history nor score
    e.days.erase(b);
    if (inserted)
      tags_.erase(it);
    return;
  }
  if (e.days.size() > static_cast<std::size_t>(history_days))
    e.days.resize(history_days);
  auto& bucket = e.days[static_cast<std::size_t>(pos)];
  ++bucket.uses;
  e.last_use = std::max(e.last_use, at);
  auto w = std::lower_bound(bucket.who.begin(), bucket.who.end(), account);
  if (w != bucket.who.end() && *w == account)
    return;
  if (bucket.who.size() < cfg_.max_day_accounts)
    bucket.who.insert(w, account);
  ++bucket.accounts;
  if (!inserted)
    tag_rank_.erase({e.log_score, name});
  e.log_score = log_add_exp(e.log_score, log_weight(1.0, at, cfg_.tag_half_life_s));
  tag_rank_.insert({e.log_score, name});
  evict_tags();
}

bool trend_scores::status_trends(const status_entry& e) const {
  return e.interactions >= cfg_.min_status_interactions && e.accounts >= cfg_.min_status_accounts;
}

bool trend_scores::tag_trends(const tag_entry& e, double now) const {
  auto today = utc_day_start(now);
  for (const auto& d : e.days)
    if ((d.day == today || d.day == today - day_seconds) && d.accounts >= cfg_.min_tag_accounts)
      return true;
  return false;
}

std::vector<trend_day> trend_scores::history(const tag_entry& e, double now) const {
  std::vector<trend_day> out;
  auto today = utc_day_start(now);
  for (int i = 0; i < history_days; ++i) {
    trend_day d{today - i * day_seconds, 0, 0};
    for (const auto& b : e.days)
      if (b.day == d.day) {
        d.uses = b.uses;
        d.accounts = b.accounts;
      }
    out.push_back(d);
  }
  return out;
}

std::vector<std::int64_t> trend_scores::top_statuses(std::size_t offset, std::size_t limit) const {
  std::vector<std::int64_t> out;
  for (auto it = status_rank_.begin(); it != status_rank_.end() && out.size() < limit; ++it) {
    if (!status_trends(statuses_.at(it->second)))
      continue;
    if (offset > 0) {
      --offset;
      continue;
    }
    out.push_back(it->second);
  }
  return out;
}

std::vector<trend_tag_entry> trend_scores::top_tags(std::size_t offset, std::size_t limit, double now) const {
  std::vector<trend_tag_entry> out;
  for (auto it = tag_rank_.begin(); it != tag_rank_.end() && out.size() < limit; ++it) {
    const auto& e = tags_.at(it->second);
    if (!tag_trends(e, now))
      continue;
    if (offset > 0) {
      --offset;
      continue;
    }
    out.push_back({it->second, current_value(e.log_score, now, epoch_, cfg_.tag_half_life_s), history(e, now)});
  }
  return out;
}

// Walks up from the lowest scores: once an entry is above the floor, every entry
// above it is too, so each walk stops there and costs O(pruned · log n). Statuses
// and tags each get `prune_batch` removals per call.
std::size_t trend_scores::prune(double now) {
  std::size_t removed = 0;
  for (std::size_t n = 0; n < cfg_.prune_batch && !status_rank_.empty(); ++n, ++removed) {
    auto last = std::prev(status_rank_.end());
    if (current_value(last->first, now, epoch_, cfg_.status_half_life_s) >= cfg_.prune_floor)
      break;
    statuses_.erase(last->second);
    status_rank_.erase(last);
  }
  for (std::size_t n = 0; n < cfg_.prune_batch && !tag_rank_.empty(); ++n, ++removed) {
    auto last = std::prev(tag_rank_.end());
    if (current_value(last->first, now, epoch_, cfg_.tag_half_life_s) >= cfg_.prune_floor)
      break;
    tags_.erase(last->second);
    tag_rank_.erase(last);
  }
  return removed;
}

void trend_scores::evict_statuses() {
  while (statuses_.size() > cfg_.max_statuses && !status_rank_.empty()) {
    auto last = std::prev(status_rank_.end());
    statuses_.erase(last->second);
    status_rank_.erase(last);
  }
}

void trend_scores::evict_tags() {
  while (tags_.size() > cfg_.max_tags && !tag_rank_.empty()) {
    auto last = std::prev(tag_rank_.end());
    tags_.erase(last->second);
    tag_rank_.erase(last);
  }
}

double trend_scores::status_score(std::int64_t id, double now) const {
  auto it = statuses_.find(id);
  return it == statuses_.end() ? 0 : current_value(it->second.log_score, now, epoch_, cfg_.status_half_life_s);
}

double trend_scores::tag_score(const std::string& name, double now) const {
  auto it = tags_.find(name);
  return it == tags_.end() ? 0 : current_value(it->second.log_score, now, epoch_, cfg_.tag_half_life_s);
}

} // namespace chorus::actors
