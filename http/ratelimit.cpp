#include "http/ratelimit.hpp"

#include "actors/ratelimit/limiter.hpp"
#include "actors/ratelimit/shedder.hpp"
#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "http/auth.hpp"
#include "http/error_mapping.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>

namespace chorus::http {
namespace {

using actors::rl_check;

enum class key_by { account, ip, username };

struct route_plan {
  bool limited = false;
  bool read = false;     // GET/HEAD: shed last
  bool sign_in = false;  // shed with reads
  bool has_specific = false;
  rl_policy specific = rl_policy::api;
  key_by specific_key = key_by::account;
};

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

route_plan plan_for(const std::string& method, const std::string& pattern) {
  route_plan p;
  if (pattern == "/health" || pattern == "/ready" || pattern == "/metrics" ||
      starts_with(pattern, "/api/v1/chorus/admin") || (method == "GET" && pattern == "/oauth/authorize"))
    return p;
  p.limited = true;
  p.read = method == "GET" || method == "HEAD";
  p.sign_in = method == "POST" && (pattern == "/oauth/token" || pattern == "/oauth/authorize");
  auto specific = [&](rl_policy pol, key_by k) {
    p.has_specific = true;
    p.specific = pol;
    p.specific_key = k;
  };
  if (method != "POST")
    return p;
  if (pattern == "/api/v1/statuses")
    specific(rl_policy::statuses, key_by::account);
  else if (pattern == "/api/v1/media" || pattern == "/api/v2/media")
    specific(rl_policy::media, key_by::account);
  else if (pattern == "/api/v1/accounts/:id/follow")
    specific(rl_policy::follows, key_by::account);
  else if (pattern == "/api/v1/accounts")
    specific(rl_policy::signup, key_by::ip);
  else if (pattern == "/oauth/token" || pattern == "/oauth/authorize")
    specific(rl_policy::login_ip, key_by::ip);
  return p;
}

std::string iso8601_us(std::int64_t us) {
  // Every response formats one; the seconds part changes once a second per thread.
  thread_local std::time_t last_secs = -1;
  thread_local char secs_text[32];
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  if (secs != last_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::strftime(secs_text, sizeof secs_text, "%Y-%m-%dT%H:%M:%S", &tm);
    last_secs = secs;
  }
  std::string out(secs_text);
  auto ms = static_cast<int>((us / 1000) % 1000);
  out += '.';
  out += static_cast<char>('0' + ms / 100);
  out += static_cast<char>('0' + ms / 10 % 10);
  out += static_cast<char>('0' + ms % 10);
  out += 'Z';
  return out;
}

std::int64_t ceil_seconds(std::int64_t us) { return (std::max<std::int64_t>(0, us) + 999'999) / 1'000'000; }

// One policy's decision for a request.
struct limited_result {
  std::uint32_t policy = 0;
  std::string key;
  ratelimit::decision d;
  bool decided = false;
};

// Adds the limit headers to the handler's response; a 5xx gives the tokens back
// (and its headers count them as back).
class limited_sink : public reply_sink {
public:
  // `lim` outlives the sink: the routes hold it (through rate_limits), and the
  // inner responder's session holds the server, which holds the routes.
  limited_sink(responder inner, const actors::limiter* lim, std::vector<limited_result> allowed,
               std::size_t shown)
    : inner_(std::move(inner)), lim_(lim), allowed_(std::move(allowed)), shown_(shown) {}
  void post(std::function<void()> fn) override { inner_.on_strand(std::move(fn)); }
  void deliver(response r) override {
    auto& shown = allowed_[shown_];
    const auto& p = lim_->policy(shown.policy);
    auto d = shown.d;
    if (r.status >= 500) {
      d.remaining = std::min(p.limit, d.remaining + 1);
      d.reset_us = std::max<std::int64_t>(0, d.reset_us - p.interval_us());
    }
    add_rate_headers(r.headers, p, d, wall_now_us());
    if (r.status >= 500)
      for (auto& a : allowed_)
        lim_->check({a.policy, std::move(a.key), -1, {}, true});
    inner_.send(std::move(r));
  }

private:
  responder inner_;
  const actors::limiter* lim_;
  std::vector<limited_result> allowed_;
  std::size_t shown_;  // the tightest policy: its headers
};

struct pending_checks {
  std::mutex mtx;
  std::size_t left = 0;
  std::vector<limited_result> results;
};

std::string username_of(const request& req) {
  std::vector<std::pair<std::string, std::string>> form;
  if (!parse_form(req.body, form))
    return {};
  for (auto& [k, v] : form)
    if (k == "username") {
      std::string u = v;
      std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return std::tolower(c); });
      return u.substr(0, 256);
    }
  return {};
}

} // namespace

void add_rate_headers(std::vector<std::pair<std::string, std::string>>& h, const ratelimit::policy& p,
                      const ratelimit::decision& d, std::int64_t now_us) {
  h.reserve(h.size() + 6);
  auto limit = std::to_string(p.limit), remaining = std::to_string(d.remaining);
  h.emplace_back("X-RateLimit-Limit", limit);
  h.emplace_back("X-RateLimit-Remaining", remaining);
  h.emplace_back("X-RateLimit-Reset", iso8601_us(now_us + d.reset_us));
  std::string v;
  v.reserve(p.name.size() + 32);
  v.append("\"").append(p.name).append("\";q=").append(limit).append(";w=").append(std::to_string(p.period_ms / 1000));
  h.emplace_back("RateLimit-Policy", std::move(v));
  v.clear();
  v.reserve(p.name.size() + 32);
  v.append("\"").append(p.name).append("\";r=").append(remaining).append(";t=").append(std::to_string(ceil_seconds(d.reset_us)));
  h.emplace_back("RateLimit", std::move(v));
  if (!d.allowed)
    h.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, ceil_seconds(d.retry_after_us))));
}

namespace {

// All decisions of a request are in: 429, or the handler with the limit headers.
void conclude(std::vector<limited_result>& results, const actors::limiter& lim, request& req, const responder& res,
              const handler_fn& fn) {
  auto now = wall_now_us();
  const limited_result* shown = nullptr;
  for (auto& r : results) {
    bool refused = !r.d.allowed;
    if (!shown || (refused && (shown->d.allowed || r.d.retry_after_us > shown->d.retry_after_us)) ||
        (!refused && shown->d.allowed && r.d.remaining < shown->d.remaining))
      shown = &r;
  }
  if (!shown->d.allowed) {
    for (auto& r : results)  // refused: what the other policies allowed is given back
      if (r.d.allowed)
        lim.check({r.policy, r.key, -1, {}, true});
    auto out = error_response(errc::rate_limited, "Too many requests");
    add_rate_headers(out.headers, lim.policy(shown->policy), shown->d, now);
    return res.send(std::move(out));
  }
  auto index = static_cast<std::size_t>(shown - results.data());
  responder wrapped(std::make_shared<limited_sink>(res, &lim, std::move(results), index));
  try {
    fn(req, wrapped);
  } catch (const std::exception&) {
    wrapped.fail(errc::internal);
  }
}

} // namespace

handler_fn rate_limited(std::shared_ptr<const rate_limits> limits, const std::string& method,
                        const std::string& pattern, handler_fn fn) {
  auto plan = plan_for(method, pattern);
  if (!plan.limited || !limits || (!limits->svc.limits && !limits->svc.shed))
    return fn;
  return [limits, plan, fn = std::move(fn)](request& req, const responder& res) {
    const auto& svc = limits->svc;
    auto client = net::client_address(req.remote_ip, req.header("x-forwarded-for"), limits->trusted_proxies);
    if (limits->exempt_loopback && net::is_loopback(client))
      return fn(req, res);
    auto ip = net::address_key(client);
    auto token = bearer_token(req);
    if (const auto& shed = svc.shed) {
      auto cls = plan.read || plan.sign_in ? actors::shed_class::read
                 : token.empty()           ? actors::shed_class::anonymous_write
                                           : actors::shed_class::authenticated_write;
      if (shed->sheds(cls)) {
        auto out = error_response(errc::overloaded, "Service overloaded, retry later");
        out.headers.erase(std::remove_if(out.headers.begin(), out.headers.end(),
                                         [](const auto& h) { return h.first == "Retry-After"; }),
                          out.headers.end());
        out.headers.emplace_back("Retry-After", std::to_string(shed->retry_after_s.load()));  // the measured drain
        return res.send(std::move(out));
      }
    }
    if (!svc.limits)
      return fn(req, res);
    std::string who;
    if (!token.empty()) {
      auto ctx = cached_context(svc, token);
      who = ctx && ctx->account_id ? "a:" + std::to_string(ctx->account_id) : "t:" + crypto::sha256_hex(token).substr(0, 32);
    }
    std::vector<limited_result> checks;
    checks.reserve(3);
    auto check = [&](rl_policy p, std::string key) { checks.push_back({static_cast<std::uint32_t>(p), std::move(key), {}}); };
    if (who.empty())
      check(rl_policy::anon, "ip:" + ip);
    else
      check(rl_policy::api, who);
    if (plan.has_specific) {
      if (plan.specific_key == key_by::ip)
        check(plan.specific, "ip:" + ip);
      else if (!who.empty())
        check(plan.specific, who);
      if (plan.specific == rl_policy::login_ip)
        if (auto user = username_of(req); !user.empty())
          check(rl_policy::login_account, "u:" + user);
    }
    const auto& lim = svc.limits;
    // Hot buckets are decided here, from their leases; the others by their shards.
    std::size_t remote = 0;
    for (auto& c : checks)
      if (auto d = lim->take(c.policy, c.key)) {
        c.d = *d;
        c.decided = true;
      } else {
        ++remote;
      }
    if (remote == 0)
      return conclude(checks, *lim, req, res, fn);
    auto state = std::make_shared<pending_checks>();
    state->left = remote;
    auto owned = std::make_shared<request>(std::move(req));
    std::vector<rl_check> asks;
    for (auto& c : checks) {
      if (c.decided) {  // from a lease
        state->results.push_back(std::move(c));
        continue;
      }
      asks.push_back({c.policy, c.key, 1, [state, policy = c.policy, key = c.key, owned, res, fn, lim](const ratelimit::decision& d) {
                        {
                          std::lock_guard<std::mutex> g(state->mtx);
                          state->results.push_back({policy, key, d, true});
                          if (--state->left > 0)
                            return;
                        }
                        // The shard that answered last must not run the handler (it
                        // would stall its Redis batching): back to the connection's strand.
                        res.on_strand([state, owned, res, fn, lim] { conclude(state->results, *lim, *owned, res, fn); });
                      }});
    }
    for (auto& a : asks)
      lim->check(std::move(a));
  };
}

} // namespace chorus::http
