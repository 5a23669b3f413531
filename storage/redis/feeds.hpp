#pragma once
// Redis key schema and Lua scripts for home-timeline mirrors. A home timeline is
// a sorted set whose members all have score 0 and sort lexicographically: the
// member is the status id zero-padded to 19 digits, then ":author:origin_author",
// so ZREVRANGE returns newest first with exact 64-bit ordering (scores are
// doubles and would lose snowflake precision). One sentinel member "~c"
// (complete: the set holds the whole timeline) or "~i" (trimmed) sorts above
// every entry. Pushes never create a set: a missing set means "rebuild on
// demand". No CAF here.
#include "storage/pg/feeds.hpp"
#include "storage/redis/context.hpp"

#include <optional>
#include <string>
#include <vector>

namespace chorus::storage::redis {

std::string home_key(std::int64_t account);
std::string feed_member(const pg::feed_entry& e);
std::optional<pg::feed_entry> parse_feed_member(const std::string& m);

inline const char* sentinel_complete = "~c";
inline const char* sentinel_trimmed = "~i";

// ZADD the members to every existing key, trim each to `cap` entries.
command feed_push(const std::vector<std::int64_t>& accounts, const std::vector<pg::feed_entry>& entries, int cap);
// ZREM the members from every key.
command feed_remove(const std::vector<std::int64_t>& accounts, const std::vector<pg::feed_entry>& entries);
// Remove every entry by `author` (and reblogs of `author`'s statuses if `with_origin`) from one key.
command feed_remove_author(std::int64_t account, std::int64_t author, bool with_origin);
// Replace the key with these entries (newest first) and the sentinel; expire after `ttl_s`.
command feed_store(std::int64_t account, const std::vector<pg::feed_entry>& entries, bool complete, int ttl_s);
// The whole set, newest first (sentinel first), and a refreshed expiry.
std::vector<command> feed_load(std::int64_t account, int ttl_s);

struct loaded_feed {
  bool exists = false;
  bool complete = false;
  std::vector<pg::feed_entry> entries;  // newest first
};

loaded_feed parse_feed_load(const reply& zrange);

} // namespace chorus::storage::redis
