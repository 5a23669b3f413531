#include "storage/redis/feeds.hpp"

#include <charconv>
#include <cstdio>

namespace chorus::storage::redis {
namespace {

// KEYS: home keys. ARGV[1]: cap, ARGV[2..]: members.
const char* push_script = R"lua(
local cap = tonumber(ARGV[1])
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    for i = 2, #ARGV do redis.call('ZADD', key, 0, ARGV[i]) end
    local size = redis.call('ZCARD', key)
    if size > cap + 1 then
      redis.call('ZREMRANGEBYRANK', key, 0, size - cap - 2)
      if redis.call('ZREM', key, '~c') == 1 then redis.call('ZADD', key, 0, '~i') end
    end
    n = n + 1
  end
end
return n)lua";

// KEYS: home keys. ARGV: members.
const char* remove_script = R"lua(
local n = 0
for _, key in ipairs(KEYS) do
  for i = 1, #ARGV do n = n + redis.call('ZREM', key, ARGV[i]) end
end
return n)lua";

// KEYS[1]: home key. ARGV[1]: author, ARGV[2]: '1' to match the origin author too.
const char* remove_author_script = R"lua(
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local _, author, origin = string.match(m, '^(%d+):(%d+):(%d+)$')
  if author and (author == ARGV[1] or (ARGV[2] == '1' and origin == ARGV[1])) then
    n = n + redis.call('ZREM', KEYS[1], m)
  end
end
return n)lua";

// KEYS[1]: home key. ARGV[1]: ttl seconds, ARGV[2]: sentinel, ARGV[3..]: members.
const char* store_script = R"lua(
redis.call('DEL', KEYS[1])
redis.call('ZADD', KEYS[1], 0, ARGV[2])
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 0, ARGV[i]) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return #ARGV - 2)lua";

command eval(const char* script, const std::vector<std::string>& keys, std::vector<std::string> args) {
  command c{"EVAL", script, std::to_string(keys.size())};
  c.insert(c.end(), keys.begin(), keys.end());
  for (auto& a : args)
    c.push_back(std::move(a));
  return c;
}

std::vector<std::string> keys_of(const std::vector<std::int64_t>& accounts) {
  std::vector<std::string> keys;
  keys.reserve(accounts.size());
  for (auto a : accounts)
    keys.push_back(home_key(a));
  return keys;
}

bool parse_i64(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

} // namespace

std::string home_key(std::int64_t account) { return "chorus:home:" + std::to_string(account); }

std::string feed_member(const pg::feed_entry& e) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%019lld:%lld:%lld", static_cast<long long>(e.id), static_cast<long long>(e.author),
                static_cast<long long>(e.origin_author));
  return buf;
}

std::optional<pg::feed_entry> parse_feed_member(const std::string& m) {
  auto a = m.find(':');
  if (a == std::string::npos)
    return std::nullopt;
  auto b = m.find(':', a + 1);
  if (b == std::string::npos)
    return std::nullopt;
  std::string_view v(m);
  std::int64_t id = 0, author = 0, origin = 0;
  if (!parse_i64(v.substr(0, a), id) || !parse_i64(v.substr(a + 1, b - a - 1), author) ||
      !parse_i64(v.substr(b + 1), origin))
    return std::nullopt;
  pg::feed_entry e{status_id{id}, account_id{author}, account_id{origin}};
  return e;
}

command feed_push(const std::vector<std::int64_t>& accounts, const std::vector<pg::feed_entry>& entries, int cap) {
  std::vector<std::string> args{std::to_string(cap)};
  for (auto& e : entries)
    args.push_back(feed_member(e));
  return eval(push_script, keys_of(accounts), std::move(args));
}

command feed_remove(const std::vector<std::int64_t>& accounts, const std::vector<pg::feed_entry>& entries) {
  std::vector<std::string> args;
  for (auto& e : entries)
    args.push_back(feed_member(e));
  return eval(remove_script, keys_of(accounts), std::move(args));
}

command feed_remove_author(std::int64_t account, std::int64_t author, bool with_origin) {
  return eval(remove_author_script, {home_key(account)}, {std::to_string(author), with_origin ? "1" : "0"});
}

command feed_store(std::int64_t account, const std::vector<pg::feed_entry>& entries, bool complete, int ttl_s) {
  std::vector<std::string> args{std::to_string(ttl_s), complete ? sentinel_complete : sentinel_trimmed};
  for (auto& e : entries)
    args.push_back(feed_member(e));
  return eval(store_script, {home_key(account)}, std::move(args));
}

std::vector<command> feed_load(std::int64_t account, int ttl_s) {
  auto key = home_key(account);
  return {{"ZREVRANGE", key, "0", "-1"}, {"EXPIRE", key, std::to_string(ttl_s)}};
}

loaded_feed parse_feed_load(const reply& zrange) {
  loaded_feed out;
  if (zrange.type != reply::kind::array || zrange.elements.empty())
    return out;
  out.exists = true;
  for (auto& el : zrange.elements) {
    if (el.str == sentinel_complete)
      out.complete = true;
    else if (auto e = parse_feed_member(el.str))
      out.entries.push_back(*e);
  }
  return out;
}

} // namespace chorus::storage::redis
