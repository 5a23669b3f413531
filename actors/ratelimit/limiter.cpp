#include "actors/ratelimit/limiter.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/redis/ratelimit.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>
#include <atomic>
#include <unordered_map>

namespace chorus::actors {
namespace {

namespace rd = storage::redis;
using clock_type = std::chrono::steady_clock;
using flush_atom = caf::atom_constant<caf::atom("rlflush")>;

enum counter : std::size_t { c_decisions, c_denied, c_redis_calls, c_fallbacks, c_buckets };

struct shard_state {
  static inline const char* name = "chorus.ratelimit_shard";
  std::shared_ptr<const limiter_options> opts;
  redis_actor redis;
  std::vector<rl_check> pending;
  bool flush_queued = false;
  clock_type::time_point local_until{};  // Redis failed: decide locally until then
  std::shared_ptr<std::atomic<bool>> outage;  // one per node: logged once, by whichever shard sees it first
  std::unordered_map<std::string, std::int64_t> buckets;  // local TATs: "<policy>:<key>"
  std::shared_ptr<actor_stats> stats;
  std::vector<metrics::counter*> allowed, denied;  // by policy
  metrics::counter* fallbacks = nullptr;
};

using shard_ptr = caf::stateful_actor<shard_state>*;

std::int64_t system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

void answer(shard_state& s, const rl_check& c, const ratelimit::decision& d) {
  if (c.cost > 0) {
    s.stats->add(c_decisions);
    if (!d.allowed)
      s.stats->add(c_denied);
    if (auto* m = (d.allowed ? s.allowed : s.denied)[c.policy])
      m->inc();
  }
  if (c.reply)
    c.reply(d);
}

// The node-local decision (Redis unreachable): the same GCRA on this shard's buckets.
void decide_locally(shard_state& s, const rl_check& c) {
  const auto& p = s.opts->policies[c.policy];
  auto now = s.opts->now_us ? s.opts->now_us() : system_now_us();
  if (s.buckets.size() >= s.opts->local_buckets)  // forget full buckets first, then anything
    for (auto it = s.buckets.begin(); it != s.buckets.end();)
      it = (it->second <= now || s.buckets.size() >= s.opts->local_buckets) ? s.buckets.erase(it) : std::next(it);
  auto& tat = s.buckets[p.name + ":" + c.key];
  s.stats->set(c_buckets, static_cast<std::int64_t>(s.buckets.size()));
  s.stats->add(c_fallbacks);
  if (s.fallbacks)
    s.fallbacks->inc();
  if (c.cost < 0) {
    ratelimit::gcra_refund(tat, now, p, -c.cost);
    ratelimit::decision d;
    d.limit = p.limit;
    return answer(s, c, d);
  }
  answer(s, c, ratelimit::gcra(tat, now, p, c.cost));
}

void outage(shard_ptr self, const std::string& why) {
  auto& s = self->state;
  s.local_until = clock_type::now() + s.opts->retry_redis;
  if (!s.outage->exchange(true)) {
    log::write(log::level::warn, "rate limits: redis unavailable, limiting per node until it is back",
               {{"error", why}});
  }
}

void recovered(shard_ptr self) {
  auto& s = self->state;
  if (s.outage->exchange(false)) {
    log::write(log::level::info, "rate limits: redis is back, budgets are shared again");
  }
}

std::vector<rd::command> commands(const shard_state& s, const std::vector<rl_check>& batch) {
  std::vector<rd::command> cmds;
  cmds.reserve(batch.size());
  for (auto& c : batch) {
    const auto& p = s.opts->policies[c.policy];
    cmds.push_back(rd::gcra_evalsha(rd::ratelimit_key(p.name, c.key), p, c.cost));
  }
  return cmds;
}

// Applies the script's replies; returns the checks Redis did not know the script for.
std::vector<rl_check> apply(shard_state& s, std::vector<rl_check>& batch, const std::vector<rd::reply>& replies,
                            std::size_t offset) {
  std::vector<rl_check> noscript;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto* r = i + offset < replies.size() ? &replies[i + offset] : nullptr;
    if (r && rd::is_noscript(*r)) {
      noscript.push_back(std::move(batch[i]));
      continue;
    }
    auto d = r ? rd::parse_gcra(*r, s.opts->policies[batch[i].policy]) : std::nullopt;
    if (d)
      answer(s, batch[i], *d);
    else
      decide_locally(s, batch[i]);  // an error reply (e.g. OOM): this node decides
  }
  return noscript;
}

void send_batch(shard_ptr self, std::vector<rl_check> checks, bool with_load) {
  auto& s = self->state;
  auto batch = std::make_shared<std::vector<rl_check>>(std::move(checks));
  auto cmds = commands(s, *batch);
  if (with_load)
    cmds.insert(cmds.begin(), rd::script_load());
  s.stats->add(c_redis_calls);
  self->request(s.redis, s.opts->timeout, redis_request{std::move(cmds)})
    .then(
      [self, batch, with_load](redis_result& r) {
        auto& s = self->state;
        recovered(self);
        auto again = apply(s, *batch, r.replies, with_load ? 1 : 0);
        if (!again.empty()) {
          if (with_load) {  // loaded and still unknown: give up on Redis for this batch
            for (auto& c : again)
              decide_locally(s, c);
          } else {
            send_batch(self, std::move(again), true);
          }
        }
      },
      [self, batch](caf::error& err) {
        auto& s = self->state;
        outage(self, description_of(err).empty() ? caf::to_string(err) : description_of(err));
        for (auto& c : *batch)
          decide_locally(s, c);
      });
}

void flush(shard_ptr self) {
  auto& s = self->state;
  s.flush_queued = false;
  if (s.pending.empty())
    return;
  auto batch = std::move(s.pending);
  s.pending.clear();
  if (clock_type::now() < s.local_until) {
    for (auto& c : batch)
      decide_locally(s, c);
    return;
  }
  send_batch(self, std::move(batch), false);
}

caf::behavior shard_fn(shard_ptr self, std::shared_ptr<const limiter_options> opts, redis_actor redis, std::size_t index,
                       std::shared_ptr<std::atomic<bool>> outage, actor_registry* reg, metrics::registry* metrics) {
  auto& st = self->state;
  st.outage = std::move(outage);
  st.opts = std::move(opts);
  st.redis = std::move(redis);
  st.stats = reg->enlist(self, "ratelimit", "shard-" + std::to_string(index),
                         {"decisions", "denied", "redis_calls", "fallbacks", "local_buckets"});
  st.allowed.assign(st.opts->policies.size(), nullptr);
  st.denied.assign(st.opts->policies.size(), nullptr);
  if (metrics) {
    for (std::size_t i = 0; i < st.opts->policies.size(); ++i) {
      const auto& name = st.opts->policies[i].name;
      const char* help = "Rate-limit decisions, by policy and result";
      st.allowed[i] = &metrics->get_counter("chorus_ratelimit_decisions_total", help, {{"policy", name}, {"result", "allowed"}});
      st.denied[i] = &metrics->get_counter("chorus_ratelimit_decisions_total", help, {{"policy", name}, {"result", "denied"}});
    }
    st.fallbacks = &metrics->get_counter("chorus_ratelimit_fallback_total",
                                         "Rate-limit decisions made by this node alone because Redis was unavailable");
  }
  return {
    [=](rl_check& c) {
      auto& s = self->state;
      observe(self, *s.stats);
      if (c.policy >= s.opts->policies.size())
        return;  // a bug in the caller; nothing to decide
      s.pending.push_back(std::move(c));
      // Everything that arrives before this message comes back goes out in one request.
      if (!s.flush_queued) {
        s.flush_queued = true;
        self->send(self, flush_atom::value);
      }
    },
    [=](flush_atom) { flush(self); },
  };
}

} // namespace

limiter::limiter(limiter_options opts, std::vector<caf::actor> shards)
  : opts_(std::move(opts)), shards_(std::move(shards)) {}

void limiter::check(rl_check c) const {
  auto shard = shards_[std::hash<std::string>{}(c.key) % shards_.size()];
  caf::anon_send(shard, std::move(c));
}

std::shared_ptr<limiter> spawn_limiter(caf::actor_system& sys, limiter_options opts, redis_actor redis,
                                       actor_registry& reg, metrics::registry* metrics) {
  opts.shards = std::max<std::size_t>(1, opts.shards);
  auto shared = std::make_shared<const limiter_options>(opts);
  std::vector<caf::actor> shards;
  auto outage = std::make_shared<std::atomic<bool>>(false);
  for (std::size_t i = 0; i < opts.shards; ++i)
    shards.push_back(sys.spawn(shard_fn, shared, redis, i, outage, &reg, metrics));
  return std::make_shared<limiter>(std::move(opts), std::move(shards));
}

} // namespace chorus::actors
