#include "storage/redis/ratelimit.hpp"

#include <openssl/sha.h>

namespace chorus::storage::redis {

std::string ratelimit_key(const std::string& policy, const std::string& key) {
  return "chorus:rl:" + policy + ":" + key;
}

// ARGV: limit, period (µs), cost. Returns {allowed, remaining, reset_us, retry_after_us}.
// Lua numbers are doubles: µs since the epoch (~1.8e15) are exact below 2^53.
const std::string& gcra_script() {
  static const std::string text = R"lua(
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.max(1, math.floor(period / math.max(1, limit)))
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local base = math.max(tat, now)
if cost < 0 then
  local back = math.max(now, tat + interval * cost)
  if back > now then
    redis.call('SET', KEYS[1], string.format('%d', back), 'PX', math.ceil((back - now) / 1000))
  else
    redis.call('DEL', KEYS[1])
  end
  return {1, math.floor((period - (math.max(back, now) - now)) / interval), math.max(back, now) - now, 0}
end
local nxt = base + interval * cost
if nxt - now > period then
  return {0, math.max(0, math.floor((period - (base - now)) / interval)), base - now, nxt - now - period}
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000))
return {1, math.floor((period - (nxt - now)) / interval), nxt - now, 0}
)lua";
  return text;
}

const std::string& gcra_sha() {
  static const std::string sha = [] {
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(gcra_script().data()), gcra_script().size(), md);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (auto b : md) {
      out += hex[b >> 4];
      out += hex[b & 15];
    }
    return out;
  }();
  return sha;
}

command script_load() { return {"SCRIPT", "LOAD", gcra_script()}; }

command gcra_evalsha(const std::string& key, const ratelimit::policy& p, std::int64_t cost) {
  return {"EVALSHA", gcra_sha(), "1", key, std::to_string(p.limit), std::to_string(p.period_us()), std::to_string(cost)};
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
