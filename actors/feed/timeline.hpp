#pragma once
// The logic of one cached home timeline, without CAF: the newest entries in
// memory, Mastodon cursor pagination over them, revocation, read-time merging
// of large authors' rings, and the viewer facts hydration needs (follows,
// hidden accounts, interaction flags). The feed actor only routes messages here.
#include "storage/pg/feeds.hpp"

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace chorus::actors::feed {

using storage::pg::feed_entry;
using storage::pg::page;
using storage::pg::ring_entry;

// Newest-first entries, capped; `complete` while nothing older exists.
class timeline {
public:
  explicit timeline(std::size_t cap = 800) : cap_(cap) {}

  void assign(std::vector<feed_entry> newest_first, bool complete);
  // Inserts new entries (duplicates ignored), trims to the cap. Returns how many were added.
  std::size_t insert(const std::vector<feed_entry>& entries);
  std::size_t remove_ids(const std::vector<status_id>& ids);
  // Everything by `author`, and with `with_origin` also reblogs of `author`'s statuses.
  std::size_t remove_author(account_id author, bool with_origin);

  const std::vector<feed_entry>& entries() const noexcept { return entries_; }
  bool complete() const noexcept { return complete_; }
  std::size_t cap() const noexcept { return cap_; }
  // True when the page lies (partly) older than what is cached and older entries exist.
  bool beyond(const page& p) const noexcept;

private:
  std::vector<feed_entry> entries_;
  std::size_t cap_;
  bool complete_ = false;
};

// The page of newest-first `entries` that Mastodon's max_id/since_id/min_id/limit
// select: newest first, except that min_id takes the entries just above min_id.
std::vector<feed_entry> select_page(const std::vector<feed_entry>& newest_first, const page& p);

// Merges newest-first lists into one newest-first list without duplicate ids.
std::vector<feed_entry> merge_newest_first(const std::vector<feed_entry>& a, const std::vector<feed_entry>& b);

// What a feed knows about its viewer.
class viewer_facts {
public:
  explicit viewer_facts(account_id viewer = account_id{}) : viewer_(viewer) {}

  void assign(const storage::pg::feed_snapshot& s);
  void follow(account_id account, std::int64_t followers, bool show_reblogs);
  void unfollow(account_id account);
  void hide(account_id account) { hidden_.insert(account); }
  void unhide(account_id account) { hidden_.erase(account); }

  bool follows(account_id account) const { return following_.count(account) != 0; }
  bool hidden(account_id account) const { return hidden_.count(account) != 0; }
  // Followed accounts with more than `threshold` followers (their posts are not pushed).
  std::vector<account_id> large_followees(std::int64_t threshold) const;
  // Follows anyone with more than `threshold` followers (hidden or not).
  bool follows_above(std::int64_t threshold) const;
  // Home rules for an entry that was not pushed (ring merge, merge on follow).
  bool admits(const ring_entry& r) const;

private:
  struct follow_info {
    std::int64_t followers = 0;
    bool show_reblogs = true;
  };
  account_id viewer_;
  std::unordered_map<account_id, follow_info> following_;
  std::unordered_set<account_id> hidden_;
};

// The viewer's favourite/reblog/bookmark flags for statuses it has seen, kept
// exact by interaction events on this node and forgotten after a TTL so that
// changes made through other nodes show up within it.
class flag_cache {
public:
  enum flag : std::uint8_t { favourited = 1, reblogged = 2, bookmarked = 4 };

  bool known(status_id id) const { return flags_.count(id) != 0; }
  std::uint8_t get(status_id id) const;
  void learn(status_id id, std::uint8_t flags) { flags_[id] = flags; }
  void learn_none(status_id id) { flags_.emplace(id, 0); }
  // An interaction: only changes a status already known (unknown ones load later).
  void set(status_id id, flag f, bool on);
  void clear() { flags_.clear(); }
  std::size_t size() const noexcept { return flags_.size(); }

private:
  std::unordered_map<status_id, std::uint8_t> flags_;
};

} // namespace chorus::actors::feed
