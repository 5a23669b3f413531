#include "actors/feed/status_cache.hpp"

#include "actors/protocol/errors.hpp"
#include "common/metrics.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;
using clock_type = std::chrono::steady_clock;

enum counter : std::size_t { c_hits, c_misses, c_loads, c_size };

struct waiter {
  std::vector<status_id> ids;
  caf::typed_response_promise<hot_reply> rp;
};

struct cached_status {
  pg::status_row row;
  clock_type::time_point at;
  std::shared_ptr<const rendered_status> rendered;  // made on first use
  clock_type::time_point rendered_at;
};

struct cache_state {
  static inline const char* name = "chorus.status_cache";
  status_cache_options opts;
  pg_pool_actor pool;
  std::unordered_map<status_id, cached_status> statuses;
  status_renderer render;
  std::unordered_map<account_id, std::pair<pg::account_row, clock_type::time_point>> accounts;
  std::deque<status_id> order;  // load order, for eviction
  std::unordered_set<status_id> loading;
  std::vector<waiter> waiters;
  std::shared_ptr<actor_stats> stats;
  metrics::counter* hits = nullptr;
  metrics::counter* misses = nullptr;

  bool fresh(clock_type::time_point at, clock_type::time_point now) const { return now - at < opts.ttl; }

  const pg::status_row* status(status_id id, clock_type::time_point now) const {
    auto it = statuses.find(id);
    return it != statuses.end() && fresh(it->second.at, now) ? &it->second.row : nullptr;
  }

  bool has_account(account_id id, clock_type::time_point now) const {
    auto it = accounts.find(id);
    return it != accounts.end() && fresh(it->second.second, now);
  }

  // True if the status and everything it refers to is cached and fresh.
  bool complete(const pg::status_row& s, clock_type::time_point now) const {
    if (!has_account(s.account_id, now))
      return false;
    for (auto m : s.mention_ids)
      if (!has_account(m, now))
        return false;
    if (s.reblog_of_id) {
      auto* o = status(s.reblog_of_id, now);
      return o && complete(*o, now);
    }
    return true;
  }

  // Ids of `ids` that must be loaded (absent, stale or incomplete).
  std::vector<status_id> missing(const std::vector<status_id>& ids, clock_type::time_point now) const {
    std::vector<status_id> out;
    for (auto id : ids) {
      auto* s = status(id, now);
      if (!s || !complete(*s, now))
        out.push_back(id);
    }
    return out;
  }

  void copy_account(pg::status_bundle& b, account_id id) const {
    if (auto it = accounts.find(id); it != accounts.end())
      b.accounts.emplace(id, it->second.first);
  }

  void copy_status(pg::status_bundle& b, const pg::status_row& s) const {
    copy_account(b, s.account_id);
    for (auto m : s.mention_ids)
      copy_account(b, m);
  }

  // What is cached of `ids`, in order (ids not found are skipped), with their
  // JSON templates when a renderer is installed.
  hot_reply assemble(const std::vector<status_id>& ids) {
    hot_reply out;
    auto& b = out.bundle;
    for (auto id : ids) {
      auto it = statuses.find(id);
      if (it == statuses.end())
        continue;
      const auto& s = it->second.row;
      b.statuses.push_back(s);
      copy_status(b, s);
      if (s.reblog_of_id)
        if (auto o = statuses.find(s.reblog_of_id); o != statuses.end()) {
          b.reblogged.emplace(s.reblog_of_id, o->second.row);
          copy_status(b, o->second.row);
        }
    }
    if (render)
      for (auto id : ids)
        if (auto t = rendered(id, b))
          out.rendered.emplace(id, std::move(t));
    return out;
  }

  // The template of a cached status, re-rendered when it (or the status it reblogs) was reloaded since.
  std::shared_ptr<const rendered_status> rendered(status_id id, const pg::status_bundle& b) {
    auto it = statuses.find(id);
    if (it == statuses.end())
      return nullptr;
    auto& e = it->second;
    auto stamp = e.at;
    if (e.row.reblog_of_id)
      if (auto o = statuses.find(e.row.reblog_of_id); o != statuses.end())
        stamp = std::max(stamp, o->second.at);
    if (!e.rendered || e.rendered_at < stamp) {
      e.rendered = render(e.row, b);
      e.rendered_at = stamp;
    }
    return e.rendered;
  }

  void store(pg::status_bundle& b, clock_type::time_point now) {
    for (auto& [id, a] : b.accounts)
      accounts[id] = {std::move(a), now};
    auto put = [&](pg::status_row& s) {
      auto [it, fresh_insert] = statuses.insert_or_assign(s.id, cached_status{std::move(s), now, nullptr, {}});
      if (fresh_insert)
        order.push_back(it->first);
    };
    for (auto& [id, s] : b.reblogged)
      put(s);
    for (auto& s : b.statuses)
      put(s);
    while (statuses.size() > opts.capacity && !order.empty()) {
      statuses.erase(order.front());
      order.pop_front();
    }
    if (accounts.size() > opts.capacity)
      accounts.clear();  // rare: refilled by the next loads
  }

  // Drops what has expired: an entry past its ttl is reloaded before it is
  // served again, so keeping it only held memory (at ~2.7 KB a status, a full
  // cache of expired entries was most of chorusd's growth under load).
  std::size_t purge(clock_type::time_point now) {
    auto before = statuses.size();
    for (auto it = statuses.begin(); it != statuses.end();)
      it = fresh(it->second.at, now) ? std::next(it) : statuses.erase(it);
    for (auto it = accounts.begin(); it != accounts.end();)
      it = fresh(it->second.second, now) ? std::next(it) : accounts.erase(it);
    if (order.size() > 2 * statuses.size() + 1024) {  // ids of erased entries
      std::deque<status_id> kept;
      for (auto id : order)
        if (statuses.count(id))
          kept.push_back(id);
      order.swap(kept);
    }
    return before - statuses.size();
  }

  void invalidate(const hot_invalidate& x) {
    for (auto id : x.statuses)
      statuses.erase(id);
    for (auto id : x.accounts)
      accounts.erase(id);
    if (order.size() > 2 * opts.capacity) {  // compact ids erased out of order
      std::deque<status_id> kept;
      for (auto id : order)
        if (statuses.count(id))
          kept.push_back(id);
      order.swap(kept);
    }
  }
};

using self_ptr = status_cache_actor::stateful_pointer<cache_state>;

// Answers every waiter whose ids are no longer being loaded.
void answer_waiters(self_ptr self) {
  auto& s = self->state;
  std::vector<waiter> still;
  for (auto& w : s.waiters) {
    bool ready = std::none_of(w.ids.begin(), w.ids.end(), [&](status_id id) { return s.loading.count(id) != 0; });
    if (ready)
      w.rp.deliver(s.assemble(w.ids));
    else
      still.push_back(std::move(w));
  }
  s.waiters.swap(still);
}

void load(self_ptr self, std::vector<status_id> ids) {
  auto& s = self->state;
  for (auto id : ids)
    s.loading.insert(id);
  s.stats->add(c_loads);
  auto out = std::make_shared<pg::status_bundle>();
  self->request(s.pool, s.opts.timeout,
                db_call{"status_cache.load", [ids, out](pqxx::connection_base& c) { *out = pg::load_statuses(c, ids, account_id{}); },
                        static_cast<std::uint32_t>(ids.size())})
    .then(
      [self, ids, out](ok_atom) {
        auto& s = self->state;
        s.store(*out, clock_type::now());
        for (auto id : ids)
          s.loading.erase(id);
        s.stats->set(c_size, static_cast<std::int64_t>(s.statuses.size()));
        answer_waiters(self);
      },
      [self, ids](caf::error& err) {
        auto& s = self->state;
        for (auto id : ids)
          s.loading.erase(id);
        // Fail the waiters that needed these ids; the others are answered as usual.
        std::vector<waiter> still;
        for (auto& w : s.waiters) {
          bool hit = std::any_of(w.ids.begin(), w.ids.end(),
                                 [&](status_id id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); });
          if (hit)
            w.rp.deliver(err);
          else
            still.push_back(std::move(w));
        }
        s.waiters.swap(still);
        answer_waiters(self);
      });
}

status_cache_actor::behavior_type cache_fn(self_ptr self, status_cache_options opts, pg_pool_actor pool,
                                           actor_registry* reg, metrics::registry* metrics) {
  auto& st = self->state;
  st.opts = opts;
  st.pool = std::move(pool);
  st.stats = reg->enlist(self, "status_cache", "main", {"hits", "misses", "loads", "size"});
  if (metrics) {
    st.hits = &metrics->get_counter("chorus_hot_status_cache_total", "Hot-status cache lookups", {{"result", "hit"}});
    st.misses = &metrics->get_counter("chorus_hot_status_cache_total", "Hot-status cache lookups", {{"result", "miss"}});
  }
  // Expired entries are swept once per ttl (a full pass: at most hot_capacity entries).
  auto sweep_every = std::max(opts.ttl, std::chrono::milliseconds(1000));
  if (opts.ttl.count() > 0)
    self->delayed_send(self, sweep_every, tick_atom::value);
  return {
    [=](hot_get& q) -> caf::result<hot_reply> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto now = clock_type::now();
      auto need = s.missing(q.ids, now);
      auto hits = q.ids.size() - need.size();
      s.stats->add(c_hits, static_cast<std::int64_t>(hits));
      s.stats->add(c_misses, static_cast<std::int64_t>(need.size()));
      if (s.hits) {
        s.hits->inc(hits);
        s.misses->inc(need.size());
      }
      if (need.empty())
        return s.assemble(q.ids);
      std::vector<status_id> to_load;
      for (auto id : need)
        if (!s.loading.count(id))
          to_load.push_back(id);
      auto rp = self->make_response_promise<hot_reply>();
      s.waiters.push_back({std::move(q.ids), rp});
      if (!to_load.empty())
        load(self, std::move(to_load));
      return rp;
    },
    [=](renderer_install& r) {
      auto& s = self->state;
      s.render = std::move(r.render);
      for (auto& [id, e] : s.statuses)
        e.rendered.reset();
    },
    [=](hot_invalidate& x) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.invalidate(x);
      s.stats->set(c_size, static_cast<std::int64_t>(s.statuses.size()));
    },
    [=](tick_atom) {
      auto& s = self->state;
      s.purge(clock_type::now());
      s.stats->set(c_size, static_cast<std::int64_t>(s.statuses.size()));
      self->delayed_send(self, sweep_every, tick_atom::value);
    },
  };
}

} // namespace

status_cache_actor spawn_status_cache(caf::actor_system& sys, status_cache_options opts, pg_pool_actor pool,
                                      actor_registry& reg, metrics::registry* metrics) {
  return sys.spawn(cache_fn, opts, std::move(pool), &reg, metrics);
}

} // namespace chorus::actors
