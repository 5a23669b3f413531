#pragma once
// The cluster-wide rate-limit budget (issue #6): one GCRA bucket per key in
// Redis, decided by one Lua script with Redis's own clock (TIME), so that every
// node sees the same budget and the same time. The arithmetic is exactly
// ratelimit::gcra (common/gcra.hpp). The script is run by its SHA
// (EVALSHA); a NOSCRIPT reply means Redis lost it (restart, SCRIPT FLUSH): load
// it again (script_load) and repeat. No CAF here.
#include "common/gcra.hpp"
#include "storage/redis/context.hpp"

#include <optional>
#include <string>

namespace chorus::storage::redis {

// "chorus:rl:<policy>:<key>"; keys expire when their bucket is full again.
std::string ratelimit_key(const std::string& policy, const std::string& key);

// One script decides a batch of buckets (gcra_evalsha_batch); gcra_evalsha is
// a batch of one. cost > 0: decide; cost < 0: refund -cost requests (the reply
// is then an allowed decision).
const std::string& gcra_sha();  // SHA-1 hex of the script, as SCRIPT LOAD returns it
command script_load();
command gcra_evalsha(const std::string& key, const ratelimit::policy& p, std::int64_t cost = 1);

// The script's reply as a decision; nullopt for anything else (an error reply included).
std::optional<ratelimit::decision> parse_gcra(const reply& r, const ratelimit::policy& p);
bool is_noscript(const reply& r);

// Many decisions in one script call (what the shard actors send).
struct gcra_item {
  std::string key;
  const ratelimit::policy* policy = nullptr;
  std::int64_t cost = 1;
};
const std::string& gcra_batch_script();
const std::string& gcra_batch_sha();
command script_load_batch();
command gcra_evalsha_batch(const std::vector<gcra_item>& items);
// The batch reply as one reply per item, each shaped like gcra_evalsha's (for
// parse_gcra); an error reply (NOSCRIPT included) is repeated for every item.
std::vector<reply> split_gcra_batch(const reply& r, std::size_t n);

} // namespace chorus::storage::redis
