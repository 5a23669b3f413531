// The feed manager (one per node): activates and passivates the per-user feed
// actors (LRU and idle), routes reads and feed events to them, runs the feed
// jobs, and keeps large authors' rings.
#include "actors/feed/feeds.hpp"

#include "actors/feed/feeds_manager.hpp"
#include "actors/protocol/errors.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/redis/feeds.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

namespace chorus::actors {
namespace feeds_detail {

namespace rd = storage::redis;

const live_feed* find_live(manager_ptr self, account_id account) {
  auto it = self->state.live.find(account);
  return it == self->state.live.end() ? nullptr : &it->second;
}

namespace {

// Lag buckets in seconds: fan-out and revocation are expected in milliseconds.
std::vector<double> lag_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

} // namespace

void passivate(manager_ptr self, account_id account) {
  auto& s = self->state;
  auto it = s.live.find(account);
  if (it == s.live.end())
    return;
  self->send(it->second.handle, passivate_atom::value);
  s.by_actor.erase(it->second.handle.id());
  s.lru.erase(it->second.lru);
  s.live.erase(it);
  ++s.counts.passivations;
  s.stats->add(c_passivations);
  if (s.passivations)
    s.passivations->inc();
}

namespace {

feed_actor feed_for(manager_ptr self, account_id viewer) {
  auto& s = self->state;
  auto now = clock_type::now();
  if (auto it = s.live.find(viewer); it != s.live.end()) {
    s.lru.splice(s.lru.begin(), s.lru, it->second.lru);
    it->second.lru->second = now;
    s.stats->add(c_hits);
    if (s.reads_hit)
      s.reads_hit->inc();
    return it->second.handle;
  }
  // Linked: feeds end with their manager; the manager's exit handler keeps it
  // alive when a feed ends (passivation, or a failed activation).
  auto handle = spawn_feed(self, viewer, std::shared_ptr<const feed_deps>(s.deps));
  s.lru.emplace_front(viewer, now);
  s.live.emplace(viewer, live_feed{handle, s.lru.begin()});
  s.by_actor.emplace(handle.id(), viewer);
  s.touched.push_back(viewer);
  ++s.counts.activations;
  s.stats->add(c_activations);
  if (s.activations)
    s.activations->inc();
  if (s.reads_cold)
    s.reads_cold->inc();
  while (s.live.size() > s.opts->max_live && !s.lru.empty())
    passivate(self, s.lru.back().first);
  s.publish();
  return handle;
}

// A feed job (kinds in storage/pg/feeds.hpp), answered when it has taken effect.
caf::result<ok_atom> on_job(manager_ptr self, const job_work& w) {
  auto payload = nlohmann::json::parse(w.payload, nullptr, false);
  if (!payload.is_object())
    return make_error(errc::unprocessable, "feed job payload is not a JSON object");
  auto number = [&](const nlohmann::json& v) { return v.is_number_integer() ? v.get<std::int64_t>() : std::int64_t{0}; };
  auto at_ms = payload.contains("at") ? number(payload["at"]) : 0;
  if (w.kind == pg::fanout_kind) {
    auto id = payload.contains("status") ? number(payload["status"]) : 0;
    if (id <= 0)
      return make_error(errc::unprocessable, "feed.fanout needs a status id");
    auto rp = self->make_response_promise<ok_atom>();
    self->state.fanout_queue.push_back({status_id{id}, at_ms, rp});
    start_fanout(self);
    return rp;
  }
  if (w.kind == pg::revoke_kind) {
    std::vector<status_id> ids;
    if (payload.contains("ids") && payload["ids"].is_array())
      for (auto& v : payload["ids"])
        if (auto id = number(v); id > 0)
          ids.emplace_back(id);
    if (ids.empty())
      return make_error(errc::unprocessable, "feed.revoke needs status ids");
    auto rp = self->make_response_promise<ok_atom>();
    revoke_everywhere(self, std::move(ids), at_ms, rp);
    return rp;
  }
  return make_error(errc::unprocessable, "the feeds do not run job kind '" + w.kind + "'");
}

void on_relation(manager_ptr self, feed_relation r) {
  auto& s = self->state;
  if (r.verb == relation_verb::authorize) {  // `me` accepted `target`'s request: target now follows me
    std::swap(r.me, r.target);
    r.verb = relation_verb::follow;
  }
  // Where the change was committed, it goes to the owner of `me` (which does
  // all of it) and, for a block or unblock, to the owner of `target` too. A node
  // it was routed to does all of it again (the Redis writes are idempotent), so
  // nothing is skipped when two nodes' views differ for a moment; it tells only
  // its own live feeds and never forwards.
  bool routed = from_other_node(self);
  bool both = r.verb == relation_verb::block || r.verb == relation_verb::unblock;
  if (!routed && s.opts->streams)  // streams filter blocked and muted accounts (every node's)
    self->send(s.opts->streams, r);
  if (!routed)
    if (auto owner = remote_owner(self, r.me); owner >= 0) {
      self->send(s.owner_feeds[static_cast<std::size_t>(owner)], r);
      if (both) {
        if (auto t = remote_owner(self, r.target); t >= 0 && t != owner)
          self->send(s.owner_feeds[static_cast<std::size_t>(t)], r);
        else if (t < 0)
          if (auto* lf = find_live(self, r.target))
            self->send(lf->handle, r);
      }
      return;
    }
  auto notify_live = [self, routed](account_id account, const feed_relation& rel) {
    if (auto owner = remote_owner(self, account); owner >= 0) {
      if (!routed)
        self->send(self->state.owner_feeds[static_cast<std::size_t>(owner)], rel);
      return;
    }
    if (auto* lf = find_live(self, account))
      self->send(lf->handle, rel);
  };
  auto at = r.at_ns;
  auto revoke_done = [self, at] { observe_revocation(self->state, seconds_since_ns(at)); };
  switch (r.verb) {
    case relation_verb::follow: {
      auto merge = std::make_shared<std::vector<pg::ring_entry>>();
      auto followers = std::make_shared<std::int64_t>(0);
      auto target = r.target;
      auto n = s.opts->merge_on_follow;
      self->request(s.deps->pool, s.opts->timeout,
                    db_call{"feeds.merge", [=](pqxx::connection_base& c) {
                              *merge = pg::recent_of_author(c, target, n);
                              *followers = pg::followers_count(c, target);
                            }})
        .then(
          [self, r, merge, followers](ok_atom) mutable {
            if (auto* lf = find_live(self, r.me)) {
              r.merge = std::move(*merge);
              r.target_followers = *followers;
              self->send(lf->handle, r);
            } else {
              // No live feed: drop the mirror, the next activation rebuilds it with this follow.
              redis_send(self, {{"DEL", rd::home_key(r.me)}}, "follow", [] {});
            }
          },
          [self](caf::error& err) {
            self->state.stats->add(c_errors);
            log::write(log::level::error, "feeds: merge on follow failed", {{"error", description_of(err)}});
          });
      return;
    }
    case relation_verb::unfollow:
      notify_live(r.me, r);
      redis_send(self, {rd::feed_remove_author(r.me, r.target, false)}, "unfollow", revoke_done);
      return;
    case relation_verb::block:
      notify_live(r.me, r);
      notify_live(r.target, r);
      redis_send(self, {rd::feed_remove_author(r.me, r.target, true), rd::feed_remove_author(r.target, r.me, true)},
                 "block", revoke_done);
      return;
    case relation_verb::mute:
      notify_live(r.me, r);
      redis_send(self, {rd::feed_remove_author(r.me, r.target, true)}, "mute", revoke_done);
      return;
    case relation_verb::unblock:
      notify_live(r.me, r);
      notify_live(r.target, r);
      return;
    case relation_verb::unmute: notify_live(r.me, r); return;
    case relation_verb::authorize:
    case relation_verb::reject: return;
  }
}

// Answers ring waiters whose authors are all loaded.
void answer_ring_waiters(manager_ptr self) {
  auto& s = self->state;
  std::vector<ring_waiter> still;
  for (auto& w : s.ring_waiters) {
    bool ready = std::none_of(w.authors.begin(), w.authors.end(),
                              [&](account_id a) { return s.rings_loading.count(a) != 0; });
    if (!ready) {
      still.push_back(std::move(w));
      continue;
    }
    ring_reply out;
    for (auto a : w.authors)
      if (auto it = s.rings.find(a); it != s.rings.end())
        out.entries.insert(out.entries.end(), it->second.entries.begin(), it->second.entries.end());
    std::sort(out.entries.begin(), out.entries.end(),
              [](const pg::ring_entry& x, const pg::ring_entry& y) { return x.entry.id > y.entry.id; });
    w.rp.deliver(std::move(out));
  }
  s.ring_waiters.swap(still);
}

caf::result<ring_reply> on_ring_query(manager_ptr self, ring_query& q) {
  auto& s = self->state;
  std::vector<account_id> cold;
  for (auto a : q.authors) {
    auto it = s.rings.find(a);
    if ((it == s.rings.end() || !it->second.loaded) && !s.rings_loading.count(a))
      cold.push_back(a);
  }
  auto rp = self->make_response_promise<ring_reply>();
  s.ring_waiters.push_back({std::move(q.authors), rp});
  if (cold.empty()) {
    answer_ring_waiters(self);
    return rp;
  }
  for (auto a : cold)
    s.rings_loading.insert(a);
  auto loaded = std::make_shared<std::vector<std::vector<pg::ring_entry>>>();
  auto n = static_cast<int>(s.opts->ring_size);
  self->request(s.deps->pool, s.opts->timeout,
                db_call{"feeds.ring", [=](pqxx::connection_base& c) {
                          for (auto a : cold)
                            loaded->push_back(pg::recent_of_author(c, a, n));
                        }})
    .then(
      [self, cold, loaded](ok_atom) {
        auto& s = self->state;
        for (std::size_t i = 0; i < cold.size(); ++i) {
          auto& rg = s.rings[cold[i]];
          rg.entries.assign((*loaded)[i].begin(), (*loaded)[i].end());
          rg.loaded = true;
          s.rings_loading.erase(cold[i]);
        }
        answer_ring_waiters(self);
      },
      [self, cold](caf::error& err) {
        auto& s = self->state;
        for (auto a : cold)
          s.rings_loading.erase(a);
        std::vector<ring_waiter> still;
        for (auto& w : s.ring_waiters) {
          bool hit = std::any_of(w.authors.begin(), w.authors.end(), [&](account_id a) {
            return std::find(cold.begin(), cold.end(), a) != cold.end();
          });
          if (hit)
            w.rp.deliver(err);
          else
            still.push_back(std::move(w));
        }
        s.ring_waiters.swap(still);
      });
  return rp;
}

void on_tick(manager_ptr self) {
  auto& s = self->state;
  auto now = clock_type::now();
  while (!s.lru.empty() && now - s.lru.back().second > s.opts->idle)
    passivate(self, s.lru.back().first);
  s.publish();
  if (!s.touched.empty()) {
    auto accounts = std::move(s.touched);
    s.touched.clear();
    self->request(s.deps->pool, s.opts->timeout,
                  db_call{"feeds.touch", [accounts](pqxx::connection_base& c) { pg::touch_active(c, raw_ids(accounts)); },
                          static_cast<std::uint32_t>(accounts.size())})
      .then([](ok_atom) {}, [self](caf::error&) { self->state.stats->add(c_errors); });
  }
  flush_backlog(self);
  self->delayed_send(self, s.opts->tick, tick_atom::value);
}

// The manager's own metric series (besides the registry's per-kind counters).
void register_metrics(manager_state& st, metrics::registry& m) {
  st.live_gauge = &m.get_gauge("chorus_feed_live_actors", "Feed actors live on this node");
  st.activations = &m.get_counter("chorus_feed_activations_total", "Feed actors activated");
  st.passivations = &m.get_counter("chorus_feed_passivations_total", "Feed actors passivated (idle or LRU)");
  st.reads_hit = &m.get_counter("chorus_feed_reads_total", "Home timeline reads by whether the feed was live",
                                {{"result", "hit"}});
  st.reads_cold = &m.get_counter("chorus_feed_reads_total", "Home timeline reads by whether the feed was live",
                                 {{"result", "activation"}});
  st.fanout_lag = &m.get_histogram("chorus_fanout_lag_seconds",
                                   "Post committed → last follower timeline updated", {}, lag_buckets());
  st.writes_dropped = &m.get_counter("chorus_feed_mirror_writes_dropped_total",
                                     "Mirror writes dropped because the retry backlog was full");
  st.stage_recipients = &m.get_histogram("chorus_fanout_stage_seconds", "Fan-out batch stages",
                                         {{"stage", "recipients"}}, lag_buckets());
  st.stage_write = &m.get_histogram("chorus_fanout_stage_seconds", "Fan-out batch stages",
                                    {{"stage", "write"}}, lag_buckets());
  st.revocation_lag = &m.get_histogram("chorus_revocation_lag_seconds",
                                       "Revoking event → removed from every cached timeline", {}, lag_buckets());
}

// A linked actor ended: a feed that failed to load, or (anything else) shutdown.
void on_exit(manager_ptr self, caf::exit_msg& em) {
  auto& s = self->state;
  auto it = s.by_actor.find(em.source.id());
  if (it == s.by_actor.end()) {
    if (em.reason != caf::exit_reason::normal)
      self->quit(em.reason);  // shutdown: the linked feeds end with us (passivated feeds end normally)
    return;
  }
  // A feed that failed to load (passivated ones were already removed).
  if (auto lf = s.live.find(it->second); lf != s.live.end()) {
    s.lru.erase(lf->second.lru);
    s.live.erase(lf);
  }
  s.by_actor.erase(it);
  s.publish();
}

feeds_actor::behavior_type manager_fn(manager_ptr self, std::shared_ptr<feed_deps> deps, actor_registry* reg,
                                      metrics::registry* metrics) {
  auto& st = self->state;
  deps->manager = caf::actor_cast<feeds_actor>(self);
  st.deps = deps;
  st.opts = &deps->opts;
  st.stats = reg->enlist(self, "feeds", "main",
                         {"live", "activations", "passivations", "hits", "pushes", "fanouts", "ring_merges",
                          "revocations", "errors"});
  if (metrics)
    register_metrics(st, *metrics);
  self->set_exit_handler([self](caf::exit_msg& em) { on_exit(self, em); });
  st.publish();
  self->delayed_send(self, st.opts->tick, tick_atom::value);
  return {
    [=](home_query& q) -> caf::result<status_view> {
      auto& s = self->state;
      observe(self, *s.stats);
      if (from_stranger(self))
        return make_error(errc::forbidden, "not a member of this cluster");
      if (from_other_node(self)) {
        // Routed here as the owner. If this node's view says another member owns
        // the user (views differ for a moment), serve it once and let it go: no
        // event would keep that feed current here.
        auto h = feed_for(self, q.viewer);
        auto res = self->delegate(h, std::move(q));
        if (remote_owner(self, q.viewer) >= 0)
          passivate(self, q.viewer);
        return res;
      }
      auto owner = remote_owner(self, q.viewer);
      if (owner < 0)
        return self->delegate(feed_for(self, q.viewer), std::move(q));
      if (auto* page = remote_page_for(self, q.viewer, q.page))
        return *page;
      // The owner serves it; if it cannot (it just died), this node does, from the mirror.
      auto rp = self->make_response_promise<status_view>();
      auto gen = remote_generation(self, q.viewer);
      auto name = s.owner_names[static_cast<std::size_t>(owner)];
      auto read = std::make_shared<manager_state::remote_read>();
      read->fallback = [self, rp, q]() mutable {
        auto viewer = q.viewer;
        rp.delegate(feed_for(self, viewer), std::move(q));
        if (remote_owner(self, viewer) >= 0)  // served from the mirror once; the owner keeps it current
          passivate(self, viewer);
      };
      track_read(self, name, read);
      self->request(s.owner_feeds[static_cast<std::size_t>(owner)], s.deps->opts.remote_timeout, q)
        .then(
          [self, rp, q, gen, name, read](status_view& v) mutable {
            if (!finish_read(self, name, read))
              return;
            keep_remote_page(self, q.viewer, gen, q.page, v);
            rp.deliver(std::move(v));
          },
          [self, name, read](caf::error&) {
            if (finish_read(self, name, read))
              read->fallback();
          });
      return rp;
    },
    [=](home_request& r) {
      auto& s = self->state;
      observe(self, *s.stats);
      auto owner = remote_owner(self, r.q.viewer);
      if (owner < 0) {
        self->send(feed_for(self, r.q.viewer), std::move(r));
        return;
      }
      if (auto* page = remote_page_for(self, r.q.viewer, r.q.page)) {
        r.reply(page, nullptr);
        return;
      }
      auto shared = std::make_shared<home_request>(std::move(r));
      auto gen = remote_generation(self, shared->q.viewer);
      auto name = s.owner_names[static_cast<std::size_t>(owner)];
      auto read = std::make_shared<manager_state::remote_read>();
      read->fallback = [self, shared] {
        auto viewer = shared->q.viewer;
        self->send(feed_for(self, viewer), std::move(*shared));
        if (remote_owner(self, viewer) >= 0)
          passivate(self, viewer);
      };
      track_read(self, name, read);
      self->request(s.owner_feeds[static_cast<std::size_t>(owner)], s.deps->opts.remote_timeout, shared->q)
        .then(
          [self, shared, gen, name, read](status_view& v) {
            if (!finish_read(self, name, read))
              return;
            keep_remote_page(self, shared->q.viewer, gen, shared->q.page, v);
            shared->reply(&v, nullptr);
          },
          [self, name, read](caf::error&) {
            if (finish_read(self, name, read))
              read->fallback();
          });
    },
    [=](feed_post& p) {
      auto& s = self->state;
      observe(self, *s.stats);
      if (from_stranger(self))
        return;
      // The author sees their own status on their next read: push it now (at
      // its owner); its followers (and the author again) get it from the fan-out job.
      if (!from_other_node(self)) {
        redis_send(self, {rd::feed_push({p.entry.author}, {p.entry}, static_cast<int>(s.opts->cache_size))},
                   "own post", [] {});
        if (auto owner = remote_owner(self, p.entry.author); owner >= 0) {
          self->send(s.owner_feeds[static_cast<std::size_t>(owner)], p);
          return;
        }
      }
      if (auto* lf = find_live(self, p.entry.author))
        self->send(lf->handle, feed_push{{p.entry}});
    },
    [=](feed_deliveries& d) -> caf::result<ok_atom> {
      observe(self, *self->state.stats);
      if (from_stranger(self))
        return make_error(errc::forbidden, "not a member of this cluster");
      return on_deliveries(self, d);
    },
    [=](feed_revocation& r) -> caf::result<ok_atom> {
      observe(self, *self->state.stats);
      if (from_stranger(self))
        return make_error(errc::forbidden, "not a member of this cluster");
      return on_revocation(self, r);
    },
    [=](cluster_members& m) { on_members(self, m); },
    [=](feed_changed& c) { self->state.remote_cache.erase(c.viewer); },
    [=](feed_removal& r) {
      observe(self, *self->state.stats);
      if (!from_stranger(self))
        on_removal(self, r);
    },
    [=](job_work& w) -> caf::result<ok_atom> {
      observe(self, *self->state.stats);
      if (from_other_node(self))  // jobs are claimed by this node's own pools
        return make_error(errc::forbidden, "jobs are not taken from other nodes");
      return on_job(self, w);
    },
    [=](feed_relation& r) {
      observe(self, *self->state.stats);
      if (!from_stranger(self))
        on_relation(self, std::move(r));
    },
    [=](feed_interaction& i) {
      auto& s = self->state;
      observe(self, *s.stats);
      if (from_stranger(self))
        return;
      invalidate(self, hot_invalidate{{i.status}, {}});
      if (!from_other_node(self))
        if (auto owner = remote_owner(self, i.viewer); owner >= 0) {
          self->send(s.owner_feeds[static_cast<std::size_t>(owner)], i);
          return;
        }
      if (auto* lf = find_live(self, i.viewer))
        self->send(lf->handle, i);
    },
    [=](ring_query& q) -> caf::result<ring_reply> {
      observe(self, *self->state.stats);
      if (from_stranger(self))
        return make_error(errc::forbidden, "not a member of this cluster");
      return on_ring_query(self, q);
    },
    [=](stats_atom) -> feed_stats {
      auto& s = self->state;
      s.publish();
      return s.counts;
    },
    [=](tick_atom) {
      if (!from_other_node(self))
        on_tick(self);
    },
  };
}

} // namespace
} // namespace feeds_detail

feeds_actor spawn_feeds(caf::actor_system& sys, feeds_options opts, pg_pool_actor pool, redis_actor redis,
                        status_cache_actor cache, actor_registry& reg, metrics::registry* metrics) {
  using namespace feeds_detail;
  auto deps = std::make_shared<feed_deps>();
  deps->opts = opts;
  deps->pool = std::move(pool);
  deps->redis = std::move(redis);
  deps->cache = std::move(cache);
  if (metrics) {
    deps->cold_redis = &metrics->get_counter("chorus_feed_cold_loads_total", "Feeds activated, by where they came from",
                                             {{"source", "redis"}});
    deps->cold_postgres = &metrics->get_counter("chorus_feed_cold_loads_total",
                                                "Feeds activated, by where they came from", {{"source", "postgres"}});
    deps->deep_reads = &metrics->get_counter("chorus_feed_deep_reads_total",
                                             "Home timeline pages older than the cached window (read from Postgres)");
  }
  return sys.spawn(manager_fn, deps, &reg, metrics);
}

} // namespace chorus::actors
