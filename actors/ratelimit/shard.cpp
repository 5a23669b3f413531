// A rate-limit shard: batches the checks of its buckets into one Redis
// pipeline of GCRA scripts, hands out leases, and decides locally while Redis
// is unreachable (see limiter.hpp). A shard is a detached worker with its own
// manager inside: it owns its Redis connection through the worker pattern's
// core (actors/workers/worker_core.hpp: inline open, reopen after backoff with
// full jitter) and runs its own batches on it. Handing each batch to a separate
// worker actor, as the Redis actor does, cost two thread hand-offs per batch:
// bench_ratelimit_decisions measured a third of the shared decisions per second.
#include "actors/ratelimit/shard.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/redis/redis_connection.hpp"
#include "actors/workers/worker_core.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/redis/ratelimit.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <atomic>
#include <unordered_map>
#include <unordered_set>

namespace chorus::actors {
namespace {

namespace rd = storage::redis;

enum counter : std::size_t { c_decisions, c_denied, c_redis_calls, c_fallbacks, c_buckets, c_leases };

struct shard_state {
  static inline const char* name = "chorus.ratelimit_shard";
  std::shared_ptr<const limiter_options> opts;
  worker_core<redis_connection> redis;  // this shard's own connection (shared mode)
  std::vector<rl_check> pending;
  bool flush_queued = false;
  // Shards of this node that cannot reach Redis: the outage is logged when the
  // first one fails and its end when the last one is back.
  std::shared_ptr<std::atomic<int>> outage;
  bool in_outage = false;
  std::unordered_map<std::string, std::int64_t> buckets;  // local TATs: "<policy>:<key>"
  std::shared_ptr<lease_table> leases;
  std::unordered_map<std::string, std::int64_t> seen;    // bucket → when it was last asked for (µs)
  std::unordered_map<std::string, std::int64_t> lease_size;  // bucket → tokens of its next lease
  std::vector<std::pair<std::string, std::shared_ptr<rl_lease>>> leased;  // this shard's leases, by bucket
  bool lease_tick = false;
  std::shared_ptr<actor_stats> stats;
  std::vector<metrics::counter*> allowed, denied;  // by policy
  metrics::counter* fallbacks = nullptr;
};

using shard_ptr = limiter_shard_actor::stateful_pointer<shard_state>;

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
  auto now = s.opts->now_us ? s.opts->now_us() : wall_now_us();
  if (s.buckets.size() >= s.opts->local_buckets)  // forget full buckets first, then anything
    for (auto it = s.buckets.begin(); it != s.buckets.end();)
      it = (it->second <= now || s.buckets.size() >= s.opts->local_buckets) ? s.buckets.erase(it) : std::next(it);
  auto& tat = s.buckets[bucket_id(p, c.key)];
  s.stats->set(c_buckets, static_cast<std::int64_t>(s.buckets.size()));
  if (s.opts->shared && c.cost > 0) {  // decisions, as chorus_ratelimit_decisions_total
    s.stats->add(c_fallbacks);
    if (s.fallbacks)
      s.fallbacks->inc();
  }
  if (c.cost < 0) {
    ratelimit::gcra_refund(tat, now, p, -c.cost);
    return answer(s, c, ratelimit::state_of(tat, now, p));
  }
  answer(s, c, ratelimit::gcra(tat, now, p, c.cost));
}

void outage(shard_ptr self, const std::string& why) {
  auto& s = self->state;
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
  if (c.renew) {  // the lease is nearly over: the next one (twice as big if its tokens ran low)
    const auto& p = s.opts->policies[c.policy];
    auto id = bucket_id(p, c.key);
    auto cap = std::min(s.opts->lease_tokens, p.limit / 10);
    auto& size = s.lease_size[id];
    size = std::clamp<std::int64_t>(c.grow ? size * 2 : size, 2, std::max<std::int64_t>(2, cap));
    s.seen[id] = now;
    leasing.insert(id);
    // Tokens ran low: the old lease's small rest is carried over (it is spent
    // first, within this lease's life). Time ran out: a fresh lease, and the
    // old one's rest goes back to Redis (publish_lease), so no token is held
    // much longer than `lease` whatever the traffic.
    return c.grow ? std::max<std::int64_t>(1, size - s.leases->left(id)) : size;
  }
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

// A batch as script calls of up to batch_chunk checks each.
struct script_calls {
  std::vector<std::vector<rd::gcra_item>> items;
  std::vector<rd::gcra_call> calls;
};

// `first`: the checks' costs (leases) are decided here; a batch sent again
// (NOSCRIPT) keeps the costs it was given.
script_calls commands(shard_state& s, std::vector<rl_check>& batch, bool first = true) {
  script_calls out;
  auto now = wall_now_us();
  std::unordered_set<std::string> leasing;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& c = batch[i];
    auto cost = first ? cost_of(s, c, now, leasing) : c.cost;
    if (cost > 1 || c.renew)
      c.cost = cost;  // remembered: the reply publishes the rest as a lease
    if (i % batch_chunk == 0)
      out.items.emplace_back().reserve(std::min(batch_chunk, batch.size() - i));
    out.items.back().push_back({c.key, &s.opts->policies[c.policy], c.cost});
  }
  for (auto& items : out.items)
    out.calls.push_back(rd::gcra_batch(items));
  return out;
}

// The replies (from `offset` on) as one outcome per check.
std::vector<rd::gcra_outcome> outcomes(const script_calls& sc, const std::vector<rd::reply>& replies,
                                       std::size_t offset) {
  std::vector<rd::gcra_outcome> out;
  for (std::size_t i = 0; i < sc.calls.size(); ++i) {
    rd::reply missing;
    missing.type = rd::reply::kind::error;
    missing.str = "no reply";
    auto part = rd::gcra_outcomes(sc.calls[i], sc.items[i], i + offset < replies.size() ? replies[i + offset] : missing);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

// A lease decision came back: a request takes one token (a renewal: none), the
// rest are published.
void publish_lease(shard_ptr self, const rl_check& c, ratelimit::decision& d) {
  auto& s = self->state;
  const auto& p = s.opts->policies[c.policy];
  auto now = wall_now_us();
  auto l = std::make_shared<rl_lease>();
  auto id = bucket_id(p, c.key);
  auto& size = s.lease_size[id];
  size = std::max<std::int64_t>(size, c.cost);
  auto unused = s.leases->retire(id);
  std::int64_t tokens = c.renew ? c.cost : c.cost - 1;
  if (c.renew && c.grow) {
    tokens += unused;  // the few tokens the old lease still had are this one's
  } else if (unused > 0) {
    self->send(self, rl_check{c.policy, c.key, -unused, {}, true});  // an older lease of ours: its rest back
  } else if (!c.renew) {
    size *= 2;  // the last one was used up before it ended: a bigger one next time
  }
  l->tokens = tokens;
  l->renew_at = tokens / 4;
  auto life = std::chrono::duration_cast<std::chrono::microseconds>(s.opts->lease).count();
  l->expires_us = now + life;
  l->renew_after_us = now + life * 3 / 4;
  l->base_remaining = d.remaining;
  l->full_at_us = now + d.reset_us;
  s.stats->add(c_leases);
  s.leased.emplace_back(id, l);
  s.leases->put(id, std::move(l));
  d.remaining += tokens;
  if (!s.lease_tick) {
    s.lease_tick = true;
    self->delayed_send(self, s.opts->lease, rl_lease_atom::value);
  }
}

// Ends this shard's leases that have run out and gives their unused tokens back.
void end_leases(shard_ptr self) {
  auto& s = self->state;
  s.lease_tick = false;
  auto now = wall_now_us();
  std::vector<std::pair<std::string, std::shared_ptr<rl_lease>>> keep;
  for (auto& [id, l] : s.leased) {
    if (l->expires_us > now) {
      keep.emplace_back(std::move(id), std::move(l));
      continue;
    }
    auto unused = s.leases->retire(id, l.get());  // not its successor
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
    self->delayed_send(self, s.opts->lease / 4 + std::chrono::milliseconds(1), rl_lease_atom::value);
  }
}

// Applies the script's outcomes; returns the checks Redis did not know the script for.
std::vector<rl_check> apply(shard_ptr self, std::vector<rl_check>& batch, const std::vector<rd::gcra_outcome>& outs) {
  auto& s = self->state;
  std::vector<rl_check> noscript;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& c = batch[i];
    auto st = i < outs.size() ? outs[i].status : rd::gcra_status::failed;
    if (st == rd::gcra_status::noscript) {
      noscript.push_back(std::move(c));
      continue;
    }
    if (st != rd::gcra_status::decided) {
      if (c.renew)
        continue;  // no lease without Redis
      if (c.cost > 1 && !c.no_lease)
        c.cost = 1;  // not a lease, then
      decide_locally(s, c);  // an error reply (e.g. OOM): this node decides
      continue;
    }
    auto d = outs[i].d;
    if (c.renew) {  // no request waits for it
      if (d.allowed)
        publish_lease(self, c, d);
      continue;
    }
    if (c.cost > 1 && !c.no_lease) {  // a lease
      if (!d.allowed) {  // not that many left: ask for this one request alone
        c.cost = 1;
        c.no_lease = true;
        self->send(self, std::move(c));
        continue;
      }
      publish_lease(self, c, d);
      c.cost = 1;
    }
    answer(s, c, d);
  }
  return noscript;
}

// Schedules the next attempt to reopen the connection, if it is closed and none is.
void schedule_reopen(shard_ptr self) {
  if (auto delay = self->state.redis.next_attempt())
    self->delayed_send(self, *delay, reconnect_atom::value);
}

// Sends `cmds` (opening the connection first if it is closed); on failure
// (connection, timeout) marks the outage and returns nullopt. A connection that
// was open may have gone stale (Redis restarted while this shard was idle): one
// fresh attempt before calling it an outage, but never after a timeout (Redis
// may have run the scripts: sending them again would charge every bucket twice).
std::optional<std::vector<rd::reply>> pipeline(shard_ptr self, const std::vector<rd::command>& cmds) {
  auto& s = self->state;
  std::vector<rd::reply> replies;
  redis_call job{"ratelimit.batch",
                 [&](rd::context& c) {
                   s.stats->add(c_redis_calls);
                   replies = c.pipeline(cmds);
                 },
                 true};
  auto err = s.redis.run(job);
  schedule_reopen(self);
  if (err) {
    outage(self, description_of(err));
    return std::nullopt;
  }
  recovered(self);
  return replies;
}

void decide_all_locally(shard_state& s, std::vector<rl_check>& checks) {
  for (auto& c : checks) {
    if (c.renew)
      continue;  // no lease without Redis
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
  auto sc = commands(s, batch);
  std::vector<rd::command> cmds;
  for (auto& c : sc.calls)
    cmds.push_back(std::move(c.cmd));
  auto replies = pipeline(self, cmds);
  if (!replies)
    return decide_all_locally(s, batch);
  auto again = apply(self, batch, outcomes(sc, *replies, 0));
  if (again.empty())
    return;
  auto retry = commands(s, again, false);
  cmds = {rd::script_load()};
  for (auto& c : retry.calls)
    cmds.push_back(std::move(c.cmd));
  replies = pipeline(self, cmds);
  if (!replies)
    return decide_all_locally(s, again);
  auto unknown = apply(self, again, outcomes(retry, *replies, 1));
  decide_all_locally(s, unknown);  // loaded and still unknown: this node decides
}

// Checks of buckets whose lease was published after their HTTP thread looked
// (a renewal in flight) are decided from it here: not asking Redis for
// another lease keeps the bucket's count exact. Returns the others.
std::vector<rl_check> from_leases(shard_state& s, std::vector<rl_check> batch) {
  auto now = wall_now_us();
  std::vector<rl_check> rest;
  rest.reserve(batch.size());
  for (auto& c : batch) {
    if (c.cost == 1 && !c.no_lease && !c.renew) {
      const auto& p = s.opts->policies[c.policy];
      auto renew = lease_renewal::none;
      if (auto d = s.leases->take(bucket_id(p, c.key), p.limit, now, renew)) {
        if (renew != lease_renewal::none)
          rest.push_back(rl_check{c.policy, c.key, 0, {}, false, true, renew == lease_renewal::tokens});
        answer(s, c, *d);
        continue;
      }
    }
    rest.push_back(std::move(c));
  }
  return rest;
}

void flush(shard_ptr self) {
  auto& s = self->state;
  s.flush_queued = false;
  if (s.pending.empty())
    return;
  auto batch = std::move(s.pending);
  s.pending.clear();
  if (s.opts->lease_tokens > 0)
    batch = from_leases(s, std::move(batch));
  if (batch.empty())
    return;
  // Redis failed: this node decides until the scheduled reconnect succeeds.
  if (!s.opts->shared || (!s.redis.is_open() && s.redis.reopen_scheduled()))
    return decide_all_locally(s, batch);
  send_batch(self, std::move(batch));
}

limiter_shard_actor::behavior_type shard_fn(shard_ptr self, std::shared_ptr<const limiter_options> opts, std::size_t index,
                       std::shared_ptr<std::atomic<int>> outage, std::shared_ptr<lease_table> leases,
                       actor_registry* reg, metrics::registry* metrics) {
  auto& st = self->state;
  st.outage = std::move(outage);
  st.leases = std::move(leases);
  st.opts = std::move(opts);
  st.stats = reg->enlist(self, "ratelimit", "shard-" + std::to_string(index),
                         {"decisions", "denied", "redis_calls", "fallbacks", "local_buckets", "leases"});
  worker_options wo;  // no kind, no log lines: the shard logs the outage itself
  wo.index = static_cast<std::uint32_t>(index);
  wo.reconnect = st.opts->reconnect;
  st.redis = worker_core<redis_connection>(
    redis_connection{st.opts->redis_host, st.opts->redis_port, st.opts->timeout}, std::move(wo));
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
        self->send(self, rl_flush_atom::value);
      }
    },
    [=](rl_flush_atom) { flush(self); },
    [=](rl_lease_atom) { end_leases(self); },
    [=](reconnect_atom) {
      if (self->state.redis.reopen())
        schedule_reopen(self);
    },
  };
}

} // namespace

limiter_shard_actor spawn_limiter_shard(caf::actor_system& sys, std::shared_ptr<const limiter_options> opts, std::size_t index,
                               std::shared_ptr<std::atomic<int>> outage, std::shared_ptr<lease_table> leases,
                               actor_registry& reg, metrics::registry* metrics) {
  return sys.spawn<caf::detached>(shard_fn, std::move(opts), index, std::move(outage), std::move(leases), &reg, metrics);
}

} // namespace chorus::actors
