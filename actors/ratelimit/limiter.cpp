#include "actors/ratelimit/limiter.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/redis/ratelimit.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>
#include <atomic>
#include <unordered_map>
#include <unordered_set>

namespace chorus::actors {
namespace {

namespace rd = storage::redis;
using clock_type = std::chrono::steady_clock;
using flush_atom = caf::atom_constant<caf::atom("rlflush")>;
using lease_atom = caf::atom_constant<caf::atom("rllease")>;

enum counter : std::size_t { c_decisions, c_denied, c_redis_calls, c_fallbacks, c_buckets, c_leases };

struct shard_state {
  static inline const char* name = "chorus.ratelimit_shard";
  std::shared_ptr<const limiter_options> opts;
  std::unique_ptr<rd::context> redis;  // this shard's own connection
  std::vector<rl_check> pending;
  bool flush_queued = false;
  clock_type::time_point local_until{};  // Redis failed: decide locally until then
  // Shards of this node that cannot reach Redis: the outage is logged when the
  // first one fails and its end when the last one is back.
  std::shared_ptr<std::atomic<int>> outage;
  bool in_outage = false;
  std::unordered_map<std::string, std::int64_t> buckets;  // local TATs: "<policy>:<key>"
  std::shared_ptr<lease_table> leases;
  std::unordered_map<std::string, std::int64_t> seen;    // bucket → when it was last asked for (µs)
  std::unordered_map<std::string, std::int64_t> lease_size;  // bucket → tokens of its next lease
  std::vector<std::pair<std::string, std::int64_t>> leased;  // this shard's leases: bucket, expiry (µs)
  bool lease_tick = false;
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
  if (s.opts->shared) {
    s.stats->add(c_fallbacks);
    if (s.fallbacks)
      s.fallbacks->inc();
  }
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
  if (!s.in_outage && (s.in_outage = true, s.outage->fetch_add(1) == 0)) {
    log::write(log::level::warn, "rate limits: redis unavailable, limiting per node until it is back",
               {{"error", why}});
  }
}

void recovered(shard_ptr self) {
  auto& s = self->state;
  if (s.in_outage && (s.in_outage = false, s.outage->fetch_sub(1) == 1)) {
    log::write(log::level::info, "rate limits: redis is back, budgets are shared again");
  }
}

// Tokens to take for `c`: a lease when its bucket was asked for recently.
// A lease's size follows its bucket's rate: it starts at 2 tokens and doubles
// each time a lease is used up before it ends (halves when most of one was given
// back), never above lease_tokens nor a tenth of the limit. Only the first check
// of a bucket in a batch asks for a lease.
std::int64_t cost_of(shard_state& s, const rl_check& c, std::int64_t now, std::unordered_set<std::string>& leasing) {
  if (c.cost != 1 || c.no_lease || s.opts->lease_tokens <= 0)
    return c.cost;
  const auto& p = s.opts->policies[c.policy];
  auto id = bucket_id(p, c.key);
  auto cap = std::min(s.opts->lease_tokens, p.limit / 10);
  auto& last = s.seen[id];
  bool hot = last > 0 && now - last < std::chrono::duration_cast<std::chrono::microseconds>(s.opts->lease).count();
  last = now;
  if (s.seen.size() > s.opts->local_buckets) {
    s.seen.clear();  // a rough bound; buckets that are hot come back at once
    s.lease_size.clear();
  }
  if (!hot || cap < 2 || !leasing.insert(id).second)
    return 1;
  auto it = s.lease_size.find(id);
  return std::clamp<std::int64_t>(it == s.lease_size.end() ? 2 : it->second, 2, cap);
}

constexpr std::size_t batch_chunk = 256;  // decisions per script call

std::vector<rd::command> commands(shard_state& s, std::vector<rl_check>& batch) {
  std::vector<rd::command> cmds;
  std::vector<rd::gcra_item> items;
  auto now = system_now_us();
  std::unordered_set<std::string> leasing;
  for (auto& c : batch) {
    const auto& p = s.opts->policies[c.policy];
    auto cost = cost_of(s, c, now, leasing);
    if (cost > 1)
      c.cost = cost;  // remembered: the reply publishes the rest as a lease
    items.push_back({rd::ratelimit_key(p.name, c.key), &p, c.cost});
    if (items.size() == batch_chunk) {
      cmds.push_back(rd::gcra_evalsha_batch(items));
      items.clear();
    }
  }
  if (!items.empty())
    cmds.push_back(rd::gcra_evalsha_batch(items));
  return cmds;
}

// The replies of commands() as one reply per check.
std::vector<rd::reply> per_check(const std::vector<rd::reply>& replies, std::size_t offset, std::size_t checks) {
  std::vector<rd::reply> out;
  out.reserve(checks);
  for (std::size_t i = offset; i < replies.size() && out.size() < checks; ++i) {
    auto part = rd::split_gcra_batch(replies[i], std::min(batch_chunk, checks - out.size()));
    for (auto& r : part)
      out.push_back(std::move(r));
  }
  return out;
}

// A lease decision came back: this request takes one token, the rest are published.
void publish_lease(shard_ptr self, const rl_check& c, ratelimit::decision& d) {
  auto& s = self->state;
  const auto& p = s.opts->policies[c.policy];
  auto now = system_now_us();
  auto l = std::make_shared<rl_lease>();
  l->tokens = c.cost - 1;
  l->expires_us = now + std::chrono::duration_cast<std::chrono::microseconds>(s.opts->lease).count();
  l->base_remaining = d.remaining;
  l->full_at_us = now + d.reset_us;
  auto id = bucket_id(p, c.key);
  auto& size = s.lease_size[id];
  size = std::max<std::int64_t>(size, c.cost);
  if (auto unused = s.leases->retire(id); unused > 0)  // an older lease of ours: give its rest back
    self->send(self, rl_check{c.policy, c.key, -unused, {}, true});
  else
    size *= 2;  // the last one was used up before it ended: a bigger one next time
  s.stats->add(c_leases);
  s.leased.emplace_back(id, l->expires_us);
  s.leases->put(id, std::move(l));
  d.remaining += c.cost - 1;
  if (!s.lease_tick) {
    s.lease_tick = true;
    self->delayed_send(self, s.opts->lease, lease_atom::value);
  }
}

// Ends this shard's leases that have run out and gives their unused tokens back.
void end_leases(shard_ptr self) {
  auto& s = self->state;
  s.lease_tick = false;
  auto now = system_now_us();
  std::vector<std::pair<std::string, std::int64_t>> keep;
  for (auto& [id, expires] : s.leased) {
    if (expires > now) {
      keep.emplace_back(id, expires);
      continue;
    }
    auto unused = s.leases->retire(id);
    if (auto it = s.lease_size.find(id); it != s.lease_size.end() && unused > it->second / 2)
      it->second = std::max<std::int64_t>(2, it->second / 2);  // mostly unused: smaller next time
    auto colon = id.find(':');
    for (std::uint32_t p = 0; unused > 0 && p < s.opts->policies.size(); ++p)
      if (s.opts->policies[p].name == id.substr(0, colon))
        self->send(self, rl_check{p, id.substr(colon + 1), -unused, {}, true});
  }
  s.leased.swap(keep);
  if (!s.leased.empty()) {
    s.lease_tick = true;
    self->delayed_send(self, s.opts->lease / 4 + std::chrono::milliseconds(1), lease_atom::value);
  }
}

// Applies the script's replies; returns the checks Redis did not know the script for.
std::vector<rl_check> apply(shard_ptr self, std::vector<rl_check>& batch, const std::vector<rd::reply>& replies,
                            std::size_t offset) {
  auto& s = self->state;
  std::vector<rl_check> noscript;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& c = batch[i];
    const auto* r = i + offset < replies.size() ? &replies[i + offset] : nullptr;
    if (r && rd::is_noscript(*r)) {
      noscript.push_back(std::move(c));
      continue;
    }
    auto d = r ? rd::parse_gcra(*r, s.opts->policies[c.policy]) : std::nullopt;
    if (!d) {
      if (c.cost > 1 && !c.no_lease)
        c.cost = 1;  // not a lease, then
      decide_locally(s, c);  // an error reply (e.g. OOM): this node decides
      continue;
    }
    if (c.cost > 1 && !c.no_lease) {  // a lease
      if (!d->allowed) {  // not that many left: ask for this one request alone
        c.cost = 1;
        c.no_lease = true;
        self->send(self, std::move(c));
        continue;
      }
      publish_lease(self, c, *d);
      c.cost = 1;
    }
    answer(s, c, *d);
  }
  return noscript;
}

// One pipeline on this shard's own connection (a detached actor: blocking here
// holds up only this shard, for one round trip, while more checks queue up for
// the next batch). NOSCRIPT: the script is loaded and the rest sent again once.
// Sends `cmds`; on failure (connection, timeout) marks the outage and returns nullopt.
std::optional<std::vector<rd::reply>> pipeline(shard_ptr self, const std::vector<rd::command>& cmds) {
  auto& s = self->state;
  // A connection that was open may have gone stale (Redis restarted while this
  // shard was idle): one fresh attempt before calling it an outage.
  for (int attempt = s.redis->connected() ? 2 : 1; attempt > 0; --attempt) {
    try {
      if (!s.redis->connected())
        s.redis->connect();
      s.stats->add(c_redis_calls);
      auto replies = s.redis->pipeline(cmds);
      recovered(self);
      return replies;
    } catch (const std::exception& e) {
      s.redis->disconnect();
      if (attempt == 1)
        outage(self, e.what());
    }
  }
  return std::nullopt;
}

void decide_all_locally(shard_state& s, std::vector<rl_check>& checks) {
  for (auto& c : checks) {
    if (c.cost > 1 && !c.no_lease)
      c.cost = 1;  // a lease was asked for: decide the one request
    decide_locally(s, c);
  }
}

// One pipeline on this shard's own connection (a detached actor: blocking here
// holds up only this shard, for one round trip, while more checks queue up for
// the next batch). NOSCRIPT: the script is loaded and the rest sent again once.
void send_batch(shard_ptr self, std::vector<rl_check> batch) {
  auto& s = self->state;
  auto replies = pipeline(self, commands(s, batch));
  if (!replies)
    return decide_all_locally(s, batch);
  auto again = apply(self, batch, per_check(*replies, 0, batch.size()), 0);
  if (again.empty())
    return;
  auto retry = commands(s, again);
  retry.insert(retry.begin(), rd::script_load());
  replies = pipeline(self, retry);
  if (!replies)
    return decide_all_locally(s, again);
  auto unknown = apply(self, again, per_check(*replies, 1, again.size()), 0);
  decide_all_locally(s, unknown);  // loaded and still unknown: this node decides
}

void flush(shard_ptr self) {
  auto& s = self->state;
  s.flush_queued = false;
  if (s.pending.empty())
    return;
  auto batch = std::move(s.pending);
  s.pending.clear();
  if (!s.opts->shared || clock_type::now() < s.local_until) {
    for (auto& c : batch)
      decide_locally(s, c);
    return;
  }
  send_batch(self, std::move(batch));
}

caf::behavior shard_fn(shard_ptr self, std::shared_ptr<const limiter_options> opts, std::size_t index,
                       std::shared_ptr<std::atomic<int>> outage, std::shared_ptr<lease_table> leases,
                       actor_registry* reg, metrics::registry* metrics) {
  auto& st = self->state;
  st.outage = std::move(outage);
  st.leases = std::move(leases);
  st.opts = std::move(opts);
  st.redis = std::make_unique<rd::context>(st.opts->redis_host, st.opts->redis_port, st.opts->timeout);
  st.stats = reg->enlist(self, "ratelimit", "shard-" + std::to_string(index),
                         {"decisions", "denied", "redis_calls", "fallbacks", "local_buckets", "leases"});
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
    [=](lease_atom) { end_leases(self); },
  };
}

} // namespace

std::optional<ratelimit::decision> lease_table::take(const std::string& bucket, std::int64_t limit,
                                                     std::int64_t now_us) const {
  std::shared_lock<std::shared_mutex> g(mtx_);
  auto it = leases_.find(bucket);
  if (it == leases_.end() || it->second->expires_us <= now_us)
    return std::nullopt;
  auto& l = *it->second;
  auto left = l.tokens.fetch_sub(1, std::memory_order_relaxed) - 1;
  if (left < 0) {
    l.tokens.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  ratelimit::decision d;
  d.limit = limit;
  d.remaining = l.base_remaining + left;
  d.reset_us = std::max<std::int64_t>(0, l.full_at_us - now_us);
  return d;
}

void lease_table::put(const std::string& bucket, std::shared_ptr<rl_lease> l) {
  std::unique_lock<std::shared_mutex> g(mtx_);
  leases_[bucket] = std::move(l);
}

std::int64_t lease_table::retire(const std::string& bucket) {
  std::unique_lock<std::shared_mutex> g(mtx_);
  auto it = leases_.find(bucket);
  if (it == leases_.end())
    return 0;
  auto unused = std::max<std::int64_t>(0, it->second->tokens.exchange(0));
  leases_.erase(it);
  return unused;
}

std::size_t lease_table::size() const {
  std::shared_lock<std::shared_mutex> g(mtx_);
  return leases_.size();
}

limiter::limiter(limiter_options opts, std::vector<caf::actor> shards, std::shared_ptr<lease_table> leases)
  : opts_(std::move(opts)), shards_(std::make_shared<const std::vector<caf::actor>>(std::move(shards))),
    leases_(std::move(leases)) {}

std::vector<caf::actor> limiter::shards() const {
  auto s = std::atomic_load(&shards_);
  return s ? *s : std::vector<caf::actor>{};
}

void limiter::stop() {
  auto s = std::atomic_exchange(&shards_, std::shared_ptr<const std::vector<caf::actor>>());
  if (s)
    for (auto& a : *s)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

std::optional<ratelimit::decision> limiter::take(std::uint32_t policy, const std::string& key) const {
  if (opts_.lease_tokens <= 0 || policy >= opts_.policies.size())
    return std::nullopt;
  const auto& p = opts_.policies[policy];
  return leases_->take(bucket_id(p, key), p.limit, system_now_us());
}

void limiter::check(rl_check c) const {
  auto s = std::atomic_load(&shards_);
  if (!s || s->empty())
    return;  // stopped
  caf::anon_send((*s)[std::hash<std::string>{}(c.key) % s->size()], std::move(c));
}

std::shared_ptr<limiter> spawn_limiter(caf::actor_system& sys, limiter_options opts, actor_registry& reg,
                                       metrics::registry* metrics) {
  opts.shards = std::max<std::size_t>(1, opts.shards);
  auto shared = std::make_shared<const limiter_options>(opts);
  std::vector<caf::actor> shards;
  auto outage = std::make_shared<std::atomic<int>>(0);
  auto leases = std::make_shared<lease_table>();
  for (std::size_t i = 0; i < opts.shards; ++i)
    shards.push_back(sys.spawn<caf::detached>(shard_fn, shared, i, outage, leases, &reg, metrics));
  return std::make_shared<limiter>(std::move(opts), std::move(shards), std::move(leases));
}

} // namespace chorus::actors
