#pragma once
// Rate limits on HTTP routes (issue #6). Each route gets its limits once, at
// start-up, from its method and pattern: every API request counts against
// `api` (with a token: per account, or per token until the token is known on
// this node) or `anon` (without: per client IP, IPv6 per /64); sign-ups,
// sign-ins, status creation, media uploads and follows also against their own
// policy. Decisions come from the rate-limit shard actors (actors/ratelimit,
// shared across nodes through Redis). Every limited response carries
// X-RateLimit-Limit/-Remaining/-Reset (ISO 8601, as Mastodon) and the IETF
// RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11)
// of its tightest policy; a refusal is 429 with Retry-After. A request answered
// 5xx gives its tokens back. Under load (actors/ratelimit/shedder.hpp) requests
// are shed with 503 and Retry-After: anonymous writes first, then authenticated
// writes, then reads and sign-ins. Loopback clients (the address after trusted
// proxies) are exempt unless ratelimit.exempt_loopback is false (Mastodon
// safelists localhost too).
#include "actors/system/services.hpp"
#include "common/config.hpp"
#include "common/gcra.hpp"
#include "common/netaddr.hpp"
#include "http/router.hpp"

#include <memory>
#include <string>
#include <vector>

namespace chorus::http {

// Indexes into rate_policies(cfg) (common/config.hpp), in its order.
enum class rl_policy : std::uint32_t { api, anon, statuses, media, follows, signup, login_ip, login_account };

struct rate_limits {
  actors::services svc;  // svc.limits and svc.shed (either may be null)
  std::vector<net::cidr> trusted_proxies;
  bool exempt_loopback = true;
};

// `fn` behind the limits of route (method, pattern); `fn` itself when the route
// is not limited (health, readiness, metrics, admin) or limits are off.
handler_fn rate_limited(std::shared_ptr<const rate_limits> limits, const std::string& method,
                        const std::string& pattern, handler_fn fn);

// Appends the headers of a decision (now_us: the wall clock, for X-RateLimit-Reset).
void add_rate_headers(std::vector<std::pair<std::string, std::string>>& headers, const ratelimit::policy& p,
                      const ratelimit::decision& d, std::int64_t now_us);

} // namespace chorus::http
