#include "storage/redis/ratelimit.hpp"

#include <openssl/sha.h>

namespace chorus::storage::redis {

std::string ratelimit_key(const std::string& policy, const std::string& key) {
  return "chorus:rl:" + policy + ":" + key;
}

// KEYS = buckets, ARGV = per bucket: limit, period (µs), cost (negative: refund).
// Returns per bucket {allowed, remaining, reset_us, retry_after_us}, in order.
// Lua numbers are doubles: µs since the epoch (~1.8e15) are exact below 2^53.
// One call decides a whole shard batch: Redis's per-call cost (lookup, Lua
// entry, TIME) is paid once per batch instead of once per decision.
const std::string& gcra_batch_script() {
  static const std::string text = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[3 * i - 2])
  local period = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local key = KEYS[i]
  local interval = math.max(1, math.floor(period / math.max(1, limit)))
  local tat = tonumber(redis.call('GET', key) or '0') or 0
  local base = math.max(tat, now)
  local n = #out
  if cost < 0 then
    local back = math.max(now, tat + interval * cost)
    if back > now then
      redis.call('SET', key, string.format('%d', back), 'PX', math.ceil((back - now) / 1000))
    else
      redis.call('DEL', key)
    end
    out[n + 1] = 1
    out[n + 2] = math.floor((period - (back - now)) / interval)
    out[n + 3] = back - now
    out[n + 4] = 0
  else
    local nxt = base + interval * cost
    if nxt - now > period then
      out[n + 1] = 0
      out[n + 2] = math.max(0, math.floor((period - (base - now)) / interval))
      out[n + 3] = base - now
      out[n + 4] = nxt - now - period
    else
      redis.call('SET', key, string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000))
      out[n + 1] = 1
      out[n + 2] = math.floor((period - (nxt - now)) / interval)
      out[n + 3] = nxt - now
      out[n + 4] = 0
    end
  end
end
return out
)lua";
  return text;
}

namespace {
std::string sha1_hex(const std::string& text) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (auto b : md) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}
} // namespace

const std::string& gcra_batch_sha() {
  static const std::string sha = sha1_hex(gcra_batch_script());
  return sha;
}

command script_load_batch() { return {"SCRIPT", "LOAD", gcra_batch_script()}; }

command gcra_evalsha_batch(const std::vector<gcra_item>& items) {
  command c{"EVALSHA", gcra_batch_sha(), std::to_string(items.size())};
  for (auto& i : items)
    c.push_back(i.key);
  for (auto& i : items) {
    c.push_back(std::to_string(i.policy->limit));
    c.push_back(std::to_string(i.policy->period_us()));
    c.push_back(std::to_string(i.cost));
  }
  return c;
}

std::vector<reply> split_gcra_batch(const reply& r, std::size_t n) {
  std::vector<reply> out;
  if (r.type == reply::kind::array && r.elements.size() == 4 * n) {
    for (std::size_t i = 0; i < n; ++i) {
      reply one;
      one.type = reply::kind::array;
      one.elements.assign(r.elements.begin() + static_cast<std::ptrdiff_t>(4 * i),
                          r.elements.begin() + static_cast<std::ptrdiff_t>(4 * i + 4));
      out.push_back(std::move(one));
    }
    return out;
  }
  reply bad = r;
  if (!bad.is_error()) {
    bad.type = reply::kind::error;
    bad.str = "unexpected reply to the GCRA batch script";
  }
  out.assign(n, bad);
  return out;
}

const std::string& gcra_sha() { return gcra_batch_sha(); }

command script_load() { return script_load_batch(); }

command gcra_evalsha(const std::string& key, const ratelimit::policy& p, std::int64_t cost) {
  return gcra_evalsha_batch({{key, &p, cost}});
}

std::optional<ratelimit::decision> parse_gcra(const reply& r, const ratelimit::policy& p) {
  if (r.type != reply::kind::array || r.elements.size() != 4)
    return std::nullopt;
  for (auto& e : r.elements)
    if (e.type != reply::kind::integer)
      return std::nullopt;
  ratelimit::decision d;
  d.allowed = r.elements[0].integer == 1;
  d.limit = p.limit;
  d.remaining = r.elements[1].integer;
  d.reset_us = r.elements[2].integer;
  d.retry_after_us = r.elements[3].integer;
  return d;
}

bool is_noscript(const reply& r) { return r.is_error() && r.str.rfind("NOSCRIPT", 0) == 0; }

} // namespace chorus::storage::redis
