#pragma once
// The cluster-wide rate-limit budget (issue #6): GCRA buckets in Redis, decided
// in batches by one Lua script with Redis's own clock (TIME), so that every
// node sees the same budget and the same time. The script is run by its SHA
// (EVALSHA); a NOSCRIPT reply means Redis lost it (restart, SCRIPT FLUSH): load
// it again (script_load) and repeat. No CAF here.
//
// Layout: a bucket (policy, key) is a field of the hash
// "chorus:rl:<policy>:<generation>" (generation: Redis's time / the policy's
// period) holding its TAT in µs; a generation's hash is dropped when the one
// after the next begins. The script computes the generation's name, so it
// needs one Redis (standalone, or a primary with replicas), not Redis Cluster.
#include "common/gcra.hpp"
#include "storage/redis/context.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace chorus::storage::redis {

// "chorus:rl:<policy>" (the script appends ":<generation>").
std::string ratelimit_hash(const std::string& policy);

const std::string& gcra_batch_script();
const std::string& gcra_sha();  // SHA-1 hex of the script, as SCRIPT LOAD returns it
command script_load();

// One decision (cost > 0) or refund of -cost requests (cost < 0).
struct gcra_item {
  std::string bucket;                          // "ip:192.0.2.1", "a:42", …
  const ratelimit::policy* policy = nullptr;   // outlives the call
  std::int64_t cost = 1;
};

// Many items in one script call: grouped by policy, two HMGETs and an HSET per
// policy.
struct gcra_call {
  command cmd;
  std::vector<std::size_t> order;  // the reply's i-th bucket is items[order[i]]
};
gcra_call gcra_batch(const std::vector<gcra_item>& items);

enum class gcra_status { decided, noscript, failed };
struct gcra_outcome {
  gcra_status status = gcra_status::failed;
  ratelimit::decision d;           // decided: the decision (a refund: the bucket after it)
  std::int64_t tat_before_us = 0;  // decided: the bucket's TAT before (0: full)
  std::int64_t now_us = 0;         // decided: Redis's clock
};
// The reply of `call` as one outcome per item, in the items' order. An error
// reply (NOSCRIPT included) or a malformed one fails every item.
std::vector<gcra_outcome> gcra_outcomes(const gcra_call& call, const std::vector<gcra_item>& items, const reply& r);
bool is_noscript(const reply& r);

} // namespace chorus::storage::redis
