#include "actors/feed/timeline.hpp"

#include <algorithm>

namespace chorus::actors::feed {
namespace {

bool newer(const feed_entry& a, const feed_entry& b) { return a.id > b.id; }

int clamp_limit(int limit) { return std::clamp(limit <= 0 ? 20 : limit, 1, 40); }

} // namespace

void timeline::assign(std::vector<feed_entry> newest_first, bool complete) {
  entries_ = std::move(newest_first);
  std::sort(entries_.begin(), entries_.end(), newer);
  entries_.erase(std::unique(entries_.begin(), entries_.end(),
                             [](const feed_entry& a, const feed_entry& b) { return a.id == b.id; }),
                 entries_.end());
  complete_ = complete;
  if (entries_.size() > cap_) {
    entries_.resize(cap_);
    complete_ = false;
  }
}

std::size_t timeline::insert(const std::vector<feed_entry>& entries) {
  std::size_t added = 0;
  for (auto& e : entries) {
    // Pushes are almost always newer than everything cached: check the front first.
    auto it = entries_.empty() || e.id > entries_.front().id
                ? entries_.begin()
                : std::lower_bound(entries_.begin(), entries_.end(), e, newer);
    if (it != entries_.end() && it->id == e.id)
      continue;
    if (it == entries_.end() && entries_.size() >= cap_ && !complete_)
      continue;  // older than everything kept, and older entries exist elsewhere
    entries_.insert(it, e);
    ++added;
  }
  if (entries_.size() > cap_) {
    entries_.resize(cap_);
    complete_ = false;
  }
  return added;
}

std::size_t timeline::remove_ids(const std::vector<status_id>& ids) {
  auto before = entries_.size();
  for (auto id : ids) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), feed_entry{id, {}, {}}, newer);
    if (it != entries_.end() && it->id == id)
      entries_.erase(it);
  }
  return before - entries_.size();
}

std::size_t timeline::remove_author(account_id author, bool with_origin) {
  auto before = entries_.size();
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const feed_entry& e) {
                                  return e.author == author || (with_origin && e.origin_author == author);
                                }),
                 entries_.end());
  return before - entries_.size();
}

bool timeline::beyond(const page& p) const noexcept {
  if (complete_ || entries_.empty())
    return !complete_;
  auto oldest = entries_.back().id;
  if (p.min_id > 0)
    return p.min_id < oldest;  // the entries just above min_id may be older than the cache
  return p.max_id > 0 && p.max_id <= oldest;
}

std::vector<feed_entry> select_page(const std::vector<feed_entry>& newest_first, const page& p) {
  auto limit = static_cast<std::size_t>(clamp_limit(p.limit));
  // [first, last): entries with min/since < id < max, newest first.
  auto first = newest_first.begin();
  if (p.max_id > 0)
    first = std::lower_bound(newest_first.begin(), newest_first.end(), feed_entry{status_id{p.max_id}, {}, {}},
                             [](const feed_entry& a, const feed_entry& b) { return a.id > b.id; });
  // Skip the entry equal to max_id (exclusive bound).
  while (first != newest_first.end() && p.max_id > 0 && first->id >= p.max_id)
    ++first;
  auto lower = p.min_id > 0 ? p.min_id : p.since_id;
  auto last = newest_first.end();
  if (lower > 0)
    last = std::lower_bound(first, newest_first.end(), feed_entry{status_id{lower}, {}, {}},
                            [](const feed_entry& a, const feed_entry& b) { return a.id > b.id; });
  auto n = static_cast<std::size_t>(last - first);
  if (n > limit) {
    if (p.min_id > 0)
      first = last - static_cast<std::ptrdiff_t>(limit);  // the entries just above min_id
    else
      last = first + static_cast<std::ptrdiff_t>(limit);
  }
  return {first, last};
}

std::vector<feed_entry> merge_newest_first(const std::vector<feed_entry>& a, const std::vector<feed_entry>& b) {
  std::vector<feed_entry> out;
  out.reserve(a.size() + b.size());
  std::size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const feed_entry* next;
    if (j == b.size() || (i < a.size() && a[i].id >= b[j].id))
      next = &a[i++];
    else
      next = &b[j++];
    if (out.empty() || out.back().id != next->id)
      out.push_back(*next);
  }
  return out;
}

void viewer_facts::assign(const storage::pg::feed_snapshot& s) {
  following_.clear();
  hidden_.clear();
  for (auto& f : s.following)
    following_[account_id{f.account}] = {f.followers, f.show_reblogs};
  for (auto h : s.hidden)
    hidden_.insert(account_id{h});
}

void viewer_facts::follow(account_id account, std::int64_t followers, bool show_reblogs) {
  following_[account] = {followers, show_reblogs};
}

void viewer_facts::unfollow(account_id account) { following_.erase(account); }

std::vector<account_id> viewer_facts::large_followees(std::int64_t threshold) const {
  std::vector<account_id> out;
  for (auto& [id, f] : following_)
    if (f.followers > threshold && !hidden_.count(id))
      out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

bool viewer_facts::follows_above(std::int64_t threshold) const {
  for (auto& [id, f] : following_)
    if (f.followers > threshold)
      return true;
  return false;
}

bool viewer_facts::admits(const ring_entry& r) const {
  const auto& e = r.entry;
  if (e.author == viewer_)
    return true;
  auto it = following_.find(e.author);
  if (it == following_.end() || hidden_.count(e.author))
    return false;
  if (r.visibility == 3)
    return false;  // direct statuses are always pushed to the mentioned followers
  if (e.origin_author) {
    if (!it->second.show_reblogs || hidden_.count(e.origin_author))
      return false;
  }
  auto to = r.in_reply_to_account;
  return to == 0 || to == e.author || to == viewer_ || following_.count(to) != 0;
}

std::uint8_t flag_cache::get(status_id id) const {
  auto it = flags_.find(id);
  return it == flags_.end() ? 0 : it->second;
}

void flag_cache::set(status_id id, flag f, bool on) {
  auto it = flags_.find(id);
  if (it == flags_.end())
    return;
  if (on)
    it->second |= f;
  else
    it->second &= static_cast<std::uint8_t>(~f);
}

} // namespace chorus::actors::feed
