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

const std::string& gcra_script();
const std::string& gcra_sha();  // SHA-1 hex of gcra_script(), as SCRIPT LOAD returns it

command script_load();
// cost > 0: decide; cost < 0: refund -cost requests (the reply is then an allowed decision).
command gcra_evalsha(const std::string& key, const ratelimit::policy& p, std::int64_t cost = 1);

// The script's reply as a decision; nullopt for anything else (an error reply included).
std::optional<ratelimit::decision> parse_gcra(const reply& r, const ratelimit::policy& p);
bool is_noscript(const reply& r);

} // namespace chorus::storage::redis
