#include "storage/redis/ratelimit.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace chorus::storage::redis {

std::string ratelimit_hash(const std::string& policy) { return "chorus:rl:" + policy; }

// ARGV: the number of groups, then per group (one policy): its hash name,
// limit, period (µs), the number of buckets n, the number k of them whose cost
// is not 1, the n buckets, and k pairs of position (1-based), cost (negative:
// a refund); most costs are 1 and are not sent. Buckets live as fields of
// "<hash>:<generation>", generation = floor(now / period): a bucket's TAT is
// never more than one period ahead, so it is in this generation's hash or the
// last one's (this one is newer when both have it; the last one is read only
// for the buckets this one lacks). The first write of a generation UNLINKs the
// one before the last (freed off Redis's main thread, however big); a hash that
// is never followed (its policy went quiet) expires three periods after it began.
// At most two HMGETs and one HSET per policy in a batch instead of a GET and a
// SET per bucket: measured, that is most of Redis's cost per decision (docs/benchmarks.md).
// Returns Redis's clock (seconds, µs) and, per bucket in order, its TAT before
// the decision; ratelimit::gcra on the client repeats the arithmetic for the
// reply, exactly (Lua numbers are doubles: µs since the epoch are exact below 2^53).
const std::string& gcra_batch_script() {
  static const std::string text = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {tonumber(t[1]), tonumber(t[2])}
local a = 2
for g = 1, tonumber(ARGV[1]) do
  local name, limit, period = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local n, k = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  a = a + 5
  local interval = math.max(1, math.floor(period / math.max(1, limit)))
  local gen = math.floor(now / period)
  local cur = name .. ':' .. string.format('%d', gen)
  local fields = {unpack(ARGV, a, a + n - 1)}
  local costs = {}
  for j = a + n, a + n + 2 * k - 1, 2 do costs[tonumber(ARGV[j])] = tonumber(ARGV[j + 1]) end
  local tats = redis.call('HMGET', cur, unpack(fields))
  -- The last generation, for the buckets this one does not have yet.
  local miss, at = {}, {}
  for i = 1, n do
    if not tats[i] then
      miss[#miss + 1] = fields[i]
      at[#at + 1] = i
    end
  end
  if #miss > 0 then
    local older = redis.call('HMGET', name .. ':' .. string.format('%d', gen - 1), unpack(miss))
    for j = 1, #at do tats[at[j]] = older[j] end
  end
  local seen, sets = {}, {}
  for i = 1, n do
    local f, cost = fields[i], costs[i] or 1
    local tat = seen[f]
    if tat == nil then tat = tonumber(tats[i]) or 0 end
    out[#out + 1] = tat
    local nxt
    if cost < 0 then nxt = math.max(now, tat + interval * cost) else nxt = math.max(tat, now) + interval * cost end
    if cost < 0 or nxt - now <= period then
      seen[f] = nxt
      sets[#sets + 1] = f
      sets[#sets + 1] = nxt  -- an integer: Redis writes it with all its digits
    else
      seen[f] = tat
    end
  end
  if #sets > 0 then
    redis.call('HSET', cur, unpack(sets))
    if redis.call('PTTL', cur) == -1 then  -- this generation's first write
      redis.call('PEXPIREAT', cur, math.ceil((gen + 3) * period / 1000) + 1000)
      redis.call('UNLINK', name .. ':' .. string.format('%d', gen - 2))
    end
  end
  a = a + n + 2 * k
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

const std::string& gcra_sha() {
  static const std::string sha = sha1_hex(gcra_batch_script());
  return sha;
}

command script_load() { return {"SCRIPT", "LOAD", gcra_batch_script()}; }

gcra_call gcra_batch(const std::vector<gcra_item>& items) {
  if (items.size() > 1000)  // Lua's unpack() takes ~8000 values; HSET gets two per bucket
    throw std::invalid_argument("gcra_batch: at most 1000 buckets per call");
  // Groups by policy, keeping the items' order within a group.
  std::map<const ratelimit::policy*, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < items.size(); ++i)
    groups[items[i].policy].push_back(i);
  gcra_call call;
  call.cmd = {"EVALSHA", gcra_sha(), "0", std::to_string(groups.size())};
  call.cmd.reserve(4 + 5 * groups.size() + items.size());
  call.order.reserve(items.size());
  for (auto& [g, members] : groups) {
    const auto& p = *g;
    call.cmd.push_back(ratelimit_hash(p.name));
    call.cmd.push_back(std::to_string(p.limit));
    call.cmd.push_back(std::to_string(p.period_us()));
    call.cmd.push_back(std::to_string(members.size()));
    auto k = call.cmd.size();  // filled in below
    call.cmd.emplace_back();
    std::size_t not_one = 0;
    for (auto i : members) {
      call.cmd.push_back(items[i].bucket);
      call.order.push_back(i);
      not_one += items[i].cost != 1;
    }
    call.cmd[k] = std::to_string(not_one);
    for (std::size_t j = 0; j < members.size(); ++j)
      if (items[members[j]].cost != 1) {
        call.cmd.push_back(std::to_string(j + 1));
        call.cmd.push_back(std::to_string(items[members[j]].cost));
      }
  }
  return call;
}

std::vector<gcra_outcome> gcra_outcomes(const gcra_call& call, const std::vector<gcra_item>& items, const reply& r) {
  std::vector<gcra_outcome> out(items.size());
  bool shaped = r.type == reply::kind::array && r.elements.size() == 2 + call.order.size() &&
                call.order.size() == items.size() &&
                std::all_of(r.elements.begin(), r.elements.end(),
                            [](const reply& e) { return e.type == reply::kind::integer; });
  if (!shaped) {
    auto st = is_noscript(r) ? gcra_status::noscript : gcra_status::failed;
    for (auto& o : out)
      o.status = st;
    return out;
  }
  auto now = r.elements[0].integer * 1'000'000 + r.elements[1].integer;
  for (std::size_t k = 0; k < call.order.size(); ++k) {
    auto& item = items[call.order[k]];
    auto& o = out[call.order[k]];
    auto tat = r.elements[2 + k].integer;
    o.status = gcra_status::decided;
    o.tat_before_us = tat;
    o.now_us = now;
    if (item.cost < 0) {
      ratelimit::gcra_refund(tat, now, *item.policy, -item.cost);
      o.d = ratelimit::state_of(tat, now, *item.policy);
    } else {
      o.d = ratelimit::gcra(tat, now, *item.policy, item.cost);
    }
  }
  return out;
}

bool is_noscript(const reply& r) { return r.is_error() && r.str.rfind("NOSCRIPT", 0) == 0; }

} // namespace chorus::storage::redis
