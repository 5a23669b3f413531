#include "actors/feed/feeds.hpp"

#include "actors/feed/timeline.hpp"
#include "actors/protocol/errors.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/redis/feeds.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <deque>
#include <functional>
#include <list>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;
namespace rd = storage::redis;
using clock_type = std::chrono::steady_clock;

// Lag buckets in seconds: fan-out and revocation are expected in milliseconds.
std::vector<double> lag_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

// What every feed actor shares with its manager (immutable after start).
struct feed_deps {
  feeds_options opts;
  pg_pool_actor pool;
  redis_actor redis;
  status_cache_actor cache;
  feeds_actor manager;
  metrics::counter* cold_redis = nullptr;
  metrics::counter* cold_postgres = nullptr;
  metrics::counter* deep_reads = nullptr;
};

// ---- The feed actor: one user's timeline ----------------------------------

// Whoever waits for a page: a request's response promise or a home_request's callback.
struct answer {
  caf::typed_response_promise<status_view> promise;
  std::function<void(const status_view*, const caf::error*)> callback;

  void deliver(status_view v) {
    if (callback)
      callback(&v, nullptr);
    else
      promise.deliver(std::move(v));
  }
  void deliver(caf::error e) {
    if (callback)
      callback(nullptr, &e);
    else
      promise.deliver(std::move(e));
  }
};

struct pending_read {
  home_query q;
  answer rp;
};

struct feed_state {
  static inline const char* name = "chorus.feed";
  std::int64_t viewer = 0;
  std::shared_ptr<const feed_deps> deps;
  feed::timeline tl;
  feed::viewer_facts facts;
  feed::flag_cache flags;
  clock_type::time_point flags_at = clock_type::now();
  clock_type::time_point synced_at = clock_type::now();    // entries last read from the mirror (or rebuilt)
  clock_type::time_point snapshot_at = clock_type::now();  // follows and hidden accounts last read
  bool syncing = false;
  std::vector<std::function<void()>> during_sync;  // local changes made while a mirror read is in flight
  bool ready = false;
  bool quit_when_ready = false;
  std::vector<pending_read> waiting;
  std::vector<std::function<void()>> deferred;  // events that arrived while loading
  // Rendered pages, reused while nothing in this feed changed and for at most
  // page_cache (counters of other people's interactions show up after that).
  struct cached_page {
    pg::page key;
    status_view view;
    clock_type::time_point at;
    std::uint64_t version = 0;
  };
  std::vector<cached_page> pages;  // at most 2 (page 1 and the page being walked), dropped after page_cache
  bool expiry_pending = false;     // an expire_atom is on its way
  std::uint64_t version = 0;       // bumped by every change to entries, facts or flags

  void changed() { ++version; }
};

using feed_ptr = feed_actor::stateful_pointer<feed_state>;

void serve(feed_ptr self, home_query q, answer rp);

// Writes this feed's mirror; a failure only costs a rebuild at the next activation.
void write_mirror(feed_ptr self, storage::redis::command cmd) {
  auto& s = self->state;
  self->request(s.deps->redis, s.deps->opts.timeout, redis_request{{std::move(cmd)}})
    .then([](redis_result&) {},
          [self](caf::error& err) {
            log::write(log::level::warn, "feed: mirror write failed",
                       {{"viewer", self->state.viewer}, {"error", description_of(err)}});
          });
}

// Applies `fn` now, or after the timeline has loaded.
// (A change made while a mirror re-read is in flight is applied again on top of
// what that read returns, which may predate it.)
template <class Fn>
void when_ready(feed_ptr self, Fn fn) {
  auto& s = self->state;
  if (!s.ready)
    return s.deferred.emplace_back(std::move(fn)), void();
  if (s.syncing)
    s.during_sync.emplace_back(fn);
  fn();
}

void finish_loading(feed_ptr self) {
  auto& s = self->state;
  s.ready = true;
  for (auto& fn : s.deferred)
    fn();
  s.deferred.clear();
  auto waiting = std::move(s.waiting);
  s.waiting.clear();
  for (auto& w : waiting)
    serve(self, std::move(w.q), std::move(w.rp));
  if (s.quit_when_ready)
    self->quit();
}

void fail_loading(feed_ptr self, const caf::error& err) {
  for (auto& w : self->state.waiting)
    w.rp.deliver(err);
  self->state.waiting.clear();
  self->quit(err);  // the manager sees the exit and activates a fresh feed next time
}

// Activation, step 2: the viewer's follows and hidden accounts, and when Redis
// had no mirror, the timeline itself with one bounded query.
void load_from_postgres(feed_ptr self, bool rebuild) {
  auto& s = self->state;
  struct result {
    pg::feed_snapshot snapshot;
    std::vector<pg::feed_entry> entries;
  };
  auto out = std::make_shared<result>();
  auto viewer = s.viewer;
  auto cap = static_cast<int>(s.deps->opts.cache_size);
  auto max_following = s.deps->opts.max_following;
  self->request(s.deps->pool, s.deps->opts.timeout,
                db_call{rebuild ? "feed.rebuild" : "feed.snapshot",
                        [=](pqxx::connection_base& c) {
                          if (rebuild)
                            out->entries = pg::rebuild_home(c, viewer, cap);
                          out->snapshot = pg::load_snapshot(c, viewer, max_following);
                        }})
    .then(
      [self, out, rebuild, cap](ok_atom) {
        auto& s = self->state;
        s.facts.assign(out->snapshot);
        s.synced_at = s.snapshot_at = clock_type::now();
        if (rebuild) {
          bool complete = out->entries.size() < static_cast<std::size_t>(cap);
          s.tl.assign(std::move(out->entries), complete);
          if (s.deps->cold_postgres)
            s.deps->cold_postgres->inc();
        }
        // Events that arrived meanwhile apply before the mirror is written back.
        for (auto& fn : s.deferred)
          fn();
        s.deferred.clear();
        if (rebuild)
          write_mirror(self, rd::feed_store(s.viewer, s.tl.entries(), s.tl.complete(), s.deps->opts.redis_ttl_s));
        finish_loading(self);
      },
      [self](caf::error& err) { fail_loading(self, err); });
}

// Activation, step 1: the mirror in Redis, if any (Redis down → rebuild).
void activate(feed_ptr self) {
  auto& s = self->state;
  self->request(s.deps->redis, s.deps->opts.timeout, redis_request{rd::feed_load(s.viewer, s.deps->opts.redis_ttl_s)})
    .then(
      [self](redis_result& r) {
        auto& s = self->state;
        auto loaded = r.replies.empty() ? rd::loaded_feed{} : rd::parse_feed_load(r.replies.front());
        if (!loaded.exists)
          return load_from_postgres(self, true);
        s.tl.assign(std::move(loaded.entries), loaded.complete);
        if (s.deps->cold_redis)
          s.deps->cold_redis->inc();
        load_from_postgres(self, false);
      },
      [self](caf::error& err) {
        log::write(log::level::warn, "feed: redis unavailable, rebuilding from postgres",
                   {{"viewer", self->state.viewer}, {"error", description_of(err)}});
        load_from_postgres(self, true);
      });
}

// Copies the viewer's flags and relationship facts into the hydrated rows and
// drops what the viewer may not see.
void apply_viewer(feed_state& s, pg::status_bundle& b) {
  auto fill = [&](pg::status_row& r) {
    auto f = s.flags.get(r.id);
    r.favourited = f & feed::flag_cache::favourited;
    r.reblogged = f & feed::flag_cache::reblogged;
    r.bookmarked = f & feed::flag_cache::bookmarked;
    r.viewer_follows_author = s.facts.follows(r.account_id);
    r.blocked = s.facts.hidden(r.account_id) && r.account_id != s.viewer;
  };
  for (auto& r : b.statuses)
    fill(r);
  for (auto& [id, r] : b.reblogged)
    fill(r);
  pg::keep_visible(b, s.viewer);
}

// Other nodes fan out and revoke into the Redis mirror only (feed events are
// node-local), so a live feed re-reads its mirror every feed.mirror_sync_ms and
// its follows/hidden accounts every feed.snapshot_ttl_ms while it is being read.
// Local changes are in the mirror before the re-read: the Redis actor keeps the
// order of requests, and every local write was sent before this read.
void maybe_sync(feed_ptr self) {
  auto& s = self->state;
  auto& o = s.deps->opts;
  auto now = clock_type::now();
  if (s.syncing)
    return;
  bool mirror = o.mirror_sync.count() > 0 && now - s.synced_at >= o.mirror_sync;
  bool snapshot = o.snapshot_ttl.count() > 0 && now - s.snapshot_at >= o.snapshot_ttl;
  if (mirror) {
    s.syncing = true;
    s.synced_at = now;
    self->request(s.deps->redis, o.timeout, redis_request{rd::feed_load(s.viewer, o.redis_ttl_s)})
      .then(
        [self](redis_result& r) {
          auto& s = self->state;
          s.syncing = false;
          auto replay = std::move(s.during_sync);
          s.during_sync.clear();
          auto loaded = r.replies.empty() ? rd::loaded_feed{} : rd::parse_feed_load(r.replies.front());
          if (!loaded.exists)
            return;  // expired or dropped (e.g. after a follow elsewhere): keep memory, rebuild at the next activation
          s.tl.assign(std::move(loaded.entries), loaded.complete);
          for (auto& fn : replay)
            fn();
          s.changed();
        },
        [self](caf::error&) {
          self->state.syncing = false;
          self->state.during_sync.clear();
        });
  }
  if (snapshot) {
    s.snapshot_at = now;
    auto out = std::make_shared<pg::feed_snapshot>();
    auto viewer = s.viewer;
    auto max_following = o.max_following;
    self->request(s.deps->pool, o.timeout,
                  db_call{"feed.snapshot", [=](pqxx::connection_base& c) { *out = pg::load_snapshot(c, viewer, max_following); }})
      .then(
        [self, out](ok_atom) {
          self->state.facts.assign(*out);
          self->state.changed();
        },
        [](caf::error&) {});
  }
}

bool same_page(const pg::page& a, const pg::page& b) {
  return a.max_id == b.max_id && a.since_id == b.since_id && a.min_id == b.min_id && a.limit == b.limit;
}

// Remembers a rendered page for identical reads until something changes.
void remember(feed_ptr self, const pg::page& key, const status_view& v) {
  auto& s = self->state;
  if (s.deps->opts.page_cache.count() <= 0 || !v.body)
    return;
  auto now = clock_type::now();
  auto it = std::find_if(s.pages.begin(), s.pages.end(), [&](const auto& p) { return same_page(p.key, key); });
  if (it != s.pages.end())
    *it = {key, v, now, s.version};
  else {
    if (s.pages.size() >= 2)
      s.pages.erase(s.pages.begin());
    s.pages.push_back({key, v, now, s.version});
  }
  // Pages are memory (tens of KB each, per live feed): drop them when they expire
  // even if the feed is not read again.
  if (!s.expiry_pending) {
    s.expiry_pending = true;
    self->delayed_send(self, s.deps->opts.page_cache, expire_atom::value);
  }
}

void expire_pages(feed_ptr self) {
  auto& s = self->state;
  auto now = clock_type::now();
  s.pages.erase(std::remove_if(s.pages.begin(), s.pages.end(),
                               [&](const auto& p) { return now - p.at >= s.deps->opts.page_cache; }),
                s.pages.end());
  s.expiry_pending = !s.pages.empty();
  if (s.expiry_pending)
    self->delayed_send(self, s.deps->opts.page_cache, expire_atom::value);
}

const status_view* cached(feed_state& s, const pg::page& key) {
  auto now = clock_type::now();
  for (auto& p : s.pages)
    if (same_page(p.key, key) && p.version == s.version && now - p.at < s.deps->opts.page_cache)
      return &p.view;
  return nullptr;
}

// The page as a JSON array, from the cache's per-status templates and this
// viewer's flags; empty when any kept status has no template.
std::shared_ptr<const std::string> render_page(const feed_state& s, const pg::status_bundle& b,
                                               const std::unordered_map<std::int64_t,
                                                                        std::shared_ptr<const rendered_status>>& t) {
  if (t.empty())
    return nullptr;
  auto body = std::make_shared<std::string>();
  std::size_t size = 2;
  for (auto& r : b.statuses) {
    auto it = t.find(r.id);
    if (it == t.end())
      return nullptr;
    for (auto& part : it->second->text)
      size += part.size() + 6;
  }
  body->reserve(size + b.statuses.size());
  body->push_back('[');
  for (auto& r : b.statuses) {
    const auto& tpl = *t.at(r.id);
    if (body->size() > 1)
      body->push_back(',');
    auto flags = s.flags.get(tpl.flags_of);
    for (std::size_t i = 0; i < tpl.slots.size(); ++i) {
      body->append(tpl.text[i]);
      body->append(flags & tpl.slots[i] ? "true" : "false");
    }
    body->append(tpl.text.back());
  }
  body->push_back(']');
  return body;
}

// Hydration: one multi-get from the hot-status cache, then (only for statuses
// whose flags this feed has not seen yet) one flags query.
void hydrate(feed_ptr self, std::vector<std::int64_t> ids, answer rp, pg::page key) {
  auto& s = self->state;
  status_view view;
  if (!ids.empty()) {
    view.newest_cursor = ids.front();
    view.oldest_cursor = ids.back();
  }
  self->request(s.deps->cache, s.deps->opts.timeout, hot_get{std::move(ids)})
    .then(
      [self, rp, view, key](hot_reply& hr) mutable {
        auto& s = self->state;
        if (clock_type::now() - s.flags_at > s.deps->opts.flags_ttl) {
          s.flags.clear();
          s.flags_at = clock_type::now();
        }
        std::vector<std::int64_t> unknown;
        for (auto& r : hr.bundle.statuses) {
          if (!s.flags.known(r.id))
            unknown.push_back(r.id);
          if (r.reblog_of_id && !s.flags.known(r.reblog_of_id))
            unknown.push_back(r.reblog_of_id);
        }
        auto reply = std::make_shared<hot_reply>(std::move(hr));
        auto version = s.version;
        auto done = [self, rp, view, reply, key, version]() mutable {
          auto& s = self->state;
          apply_viewer(s, reply->bundle);
          view.body = render_page(s, reply->bundle, reply->rendered);
          if (!view.body)
            view.bundle = std::move(reply->bundle);  // the HTTP layer renders it
          else if (version == s.version)  // nothing changed while this page was built
            remember(self, key, view);
          rp.deliver(std::move(view));
        };
        if (unknown.empty())
          return done();
        auto flags = std::make_shared<pg::viewer_flags>();
        auto viewer = s.viewer;
        self->request(s.deps->pool, s.deps->opts.timeout,
                      db_call{"feed.flags", [=](pqxx::connection_base& c) { *flags = pg::load_flags(c, viewer, unknown); }})
          .then(
            [self, flags, unknown, done](ok_atom) mutable {
              auto& fc = self->state.flags;
              for (auto id : unknown)
                fc.learn_none(id);
              for (auto id : flags->favourited)
                fc.set(id, feed::flag_cache::favourited, true);
              for (auto id : flags->reblogged)
                fc.set(id, feed::flag_cache::reblogged, true);
              for (auto id : flags->bookmarked)
                fc.set(id, feed::flag_cache::bookmarked, true);
              done();
            },
            [rp](caf::error& err) mutable { rp.deliver(err); });
      },
      [rp](caf::error& err) mutable { rp.deliver(err); });
}

std::vector<std::int64_t> ids_of(const std::vector<pg::feed_entry>& entries) {
  std::vector<std::int64_t> ids;
  ids.reserve(entries.size());
  for (auto& e : entries)
    ids.push_back(e.id);
  return ids;
}

void serve(feed_ptr self, home_query q, answer rp) {
  auto& s = self->state;
  maybe_sync(self);  // asynchronous: this read is answered from memory as it is now
  if (auto* v = cached(s, q.page))
    return rp.deliver(*v), void();
  if (s.tl.beyond(q.page)) {
    // Older than the cached window: one keyset query (cost independent of depth).
    if (s.deps->deep_reads)
      s.deps->deep_reads->inc();
    auto ids = std::make_shared<std::vector<std::int64_t>>();
    auto viewer = s.viewer;
    auto page = q.page;
    self->request(s.deps->pool, s.deps->opts.timeout,
                  db_call{"feed.older", [=](pqxx::connection_base& c) { *ids = pg::home_timeline(c, viewer, page); }})
      .then([self, ids, rp, page](ok_atom) mutable { hydrate(self, std::move(*ids), rp, page); },
            [rp](caf::error& err) mutable { rp.deliver(err); });
    return;
  }
  auto large = s.facts.large_followees(s.deps->opts.fanout_max_followers);
  if (large.empty())
    return hydrate(self, ids_of(feed::select_page(s.tl.entries(), q.page)), rp, q.page);
  // Large authors' statuses are not pushed: merge their rings in now.
  self->request(s.deps->manager, s.deps->opts.timeout, ring_query{std::move(large)})
    .then(
      [self, q, rp](ring_reply& r) mutable {
        auto& s = self->state;
        std::vector<pg::feed_entry> extra;
        for (auto& re : r.entries)
          if (s.facts.admits(re))
            extra.push_back(re.entry);
        auto merged = feed::merge_newest_first(s.tl.entries(), extra);
        hydrate(self, ids_of(feed::select_page(merged, q.page)), rp, q.page);
      },
      [rp](caf::error& err) mutable { rp.deliver(err); });
}

void on_relation(feed_ptr self, const feed_relation& r) {
  auto& s = self->state;
  auto v = s.viewer;
  auto other = r.me == v ? r.target : r.me;
  switch (r.verb) {
    case relation_verb::follow:
    case relation_verb::authorize:
      if (r.me != v)
        return;
      s.facts.follow(r.target, r.target_followers, r.show_reblogs);
      if (!r.merge.empty()) {
        std::vector<pg::feed_entry> admitted;
        for (auto& re : r.merge)
          if (s.facts.admits(re))
            admitted.push_back(re.entry);
        if (s.tl.insert(admitted) > 0)
          write_mirror(self, rd::feed_push({v}, admitted, static_cast<int>(s.deps->opts.cache_size)));
      }
      return;
    case relation_verb::unfollow:
      if (r.me != v)
        return;
      s.facts.unfollow(r.target);
      s.tl.remove_author(r.target, false);
      return;
    case relation_verb::block:
      s.facts.unfollow(other);
      s.facts.hide(other);
      s.tl.remove_author(other, true);
      return;
    case relation_verb::mute:
      if (r.me != v)
        return;
      s.facts.hide(r.target);
      s.tl.remove_author(r.target, true);
      return;
    case relation_verb::unblock:
    case relation_verb::unmute:
      s.facts.unhide(other);
      return;
    case relation_verb::reject: return;
  }
}

feed_actor::behavior_type feed_fn(feed_ptr self, std::int64_t viewer, std::shared_ptr<const feed_deps> deps) {
  auto& st = self->state;
  st.viewer = viewer;
  st.deps = deps;
  st.tl = feed::timeline(deps->opts.cache_size);
  st.facts = feed::viewer_facts(viewer);
  activate(self);
  return {
    [=](home_query& q) -> caf::result<status_view> {
      auto rp = self->make_response_promise<status_view>();
      if (!self->state.ready)
        self->state.waiting.push_back({std::move(q), answer{rp, {}}});
      else
        serve(self, std::move(q), answer{rp, {}});
      return rp;
    },
    [=](home_request& r) {
      answer a{{}, std::move(r.reply)};
      if (!self->state.ready)
        self->state.waiting.push_back({std::move(r.q), std::move(a)});
      else
        serve(self, std::move(r.q), std::move(a));
    },
    [=](feed_push& p) {
      when_ready(self, [self, p] {
        if (self->state.tl.insert(p.entries) > 0)
          self->state.changed();
      });
    },
    [=](feed_revoke& r) {
      when_ready(self, [self, r] {
        auto& tl = self->state.tl;
        tl.remove_ids(r.ids);
        if (r.author)
          tl.remove_author(r.author, r.with_reblogs_of_author);
        self->state.changed();
      });
    },
    [=](feed_relation& r) {
      when_ready(self, [self, r] {
        on_relation(self, r);
        self->state.changed();
      });
    },
    [=](feed_interaction& i) {
      self->state.changed();
      auto& fc = self->state.flags;
      switch (i.verb) {
        case status_verb::favourite: fc.set(i.status, feed::flag_cache::favourited, true); break;
        case status_verb::unfavourite: fc.set(i.status, feed::flag_cache::favourited, false); break;
        case status_verb::reblog: fc.set(i.status, feed::flag_cache::reblogged, true); break;
        case status_verb::unreblog: fc.set(i.status, feed::flag_cache::reblogged, false); break;
        case status_verb::bookmark: fc.set(i.status, feed::flag_cache::bookmarked, true); break;
        case status_verb::unbookmark: fc.set(i.status, feed::flag_cache::bookmarked, false); break;
        case status_verb::remove:
        case status_verb::takedown: break;
      }
    },
    [=](expire_atom) { expire_pages(self); },
    [=](passivate_atom) {
      if (self->state.ready)
        self->quit();
      else
        self->state.quit_when_ready = true;
    },
  };
}

// ---- The feed manager -----------------------------------------------------

enum counter : std::size_t {
  c_live, c_activations, c_passivations, c_hits, c_pushes, c_fanouts, c_ring_merges, c_revocations, c_errors
};

struct live_feed {
  feed_actor handle;
  std::list<std::pair<std::int64_t, clock_type::time_point>>::iterator lru;
};

struct ring {
  std::deque<pg::ring_entry> entries;  // newest first
  bool loaded = false;
};

struct ring_waiter {
  std::vector<std::int64_t> authors;
  caf::typed_response_promise<ring_reply> rp;
};

struct manager_state {
  static inline const char* name = "chorus.feeds";
  std::shared_ptr<feed_deps> deps;
  const feeds_options* opts = nullptr;
  std::unordered_map<std::int64_t, live_feed> live;
  std::unordered_map<caf::actor_id, std::int64_t> by_actor;  // live feed actor → viewer
  std::list<std::pair<std::int64_t, clock_type::time_point>> lru;  // front: most recently used
  std::unordered_map<std::int64_t, ring> rings;
  std::unordered_set<std::int64_t> rings_loading;
  std::vector<ring_waiter> ring_waiters;
  // Fan-out jobs waiting for the next batch; each answers its job when done.
  struct fanout_work {
    std::int64_t status = 0;
    std::int64_t at_ms = 0;  // enqueued (wall clock), for the lag histogram
    caf::typed_response_promise<ok_atom> rp;
  };
  std::deque<fanout_work> fanout_queue;
  int fanouts_in_flight = 0;
  std::vector<std::int64_t> touched;  // activated since the last flush (users.last_active_at)
  // Mirror writes that could not be made (Redis unreachable), kept in order and
  // retried every tick; while any wait, new writes queue behind them so that a
  // later removal is never overtaken by an earlier push.
  struct mirror_write {
    std::vector<storage::redis::command> cmds;
    std::function<void()> then;
  };
  std::deque<mirror_write> backlog;
  bool backlog_in_flight = false;
  std::uint64_t dropped_writes = 0;
  std::shared_ptr<actor_stats> stats;
  feed_stats counts;
  metrics::gauge* live_gauge = nullptr;
  metrics::counter* activations = nullptr;
  metrics::counter* passivations = nullptr;
  metrics::counter* reads_hit = nullptr;
  metrics::counter* reads_cold = nullptr;
  metrics::histogram* fanout_lag = nullptr;
  metrics::histogram* revocation_lag = nullptr;
  metrics::counter* writes_dropped = nullptr;
  metrics::histogram* stage_recipients = nullptr;  // fan-out batch: the recipients job
  metrics::histogram* stage_write = nullptr;       // fan-out batch: the mirror writes

  void publish() {
    counts.live = static_cast<std::int64_t>(live.size());
    stats->set(c_live, counts.live);
    if (live_gauge)
      live_gauge->set(counts.live);
  }
};

using manager_ptr = feeds_actor::stateful_pointer<manager_state>;

const live_feed* find_live(manager_ptr self, std::int64_t account) {
  auto it = self->state.live.find(account);
  return it == self->state.live.end() ? nullptr : &it->second;
}

void passivate(manager_ptr self, std::int64_t account) {
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

feed_actor feed_for(manager_ptr self, std::int64_t viewer) {
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
  auto handle = self->spawn<caf::linked>(feed_fn, viewer, std::shared_ptr<const feed_deps>(s.deps));
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

// Sends Redis commands; logs (once per burst) and counts failures. `then` runs on success.
void flush_backlog(manager_ptr self);

void to_backlog(manager_ptr self, std::vector<storage::redis::command> cmds, std::function<void()> then) {
  auto& s = self->state;
  s.backlog.push_back({std::move(cmds), std::move(then)});
  while (s.backlog.size() > s.opts->mirror_backlog) {
    s.backlog.pop_front();
    ++s.dropped_writes;
    if (s.writes_dropped)
      s.writes_dropped->inc();
    if (s.dropped_writes == 1 || s.dropped_writes % 1000 == 0)
      log::write(log::level::error, "feeds: mirror write backlog full, dropping the oldest (mirrors go stale)",
                 {{"dropped", s.dropped_writes}});
  }
}

// Sends mirror writes (in order with any backlog); `then` runs once they are done.
template <class Then>
void redis_send(manager_ptr self, std::vector<storage::redis::command> cmds, const char* what, Then then) {
  auto& s = self->state;
  if (cmds.empty())
    return then();
  if (!s.backlog.empty())
    return to_backlog(self, std::move(cmds), then);
  auto copy = std::make_shared<std::vector<storage::redis::command>>(cmds);
  self->request(s.deps->redis, s.opts->timeout, redis_request{std::move(cmds)})
    .then([then](redis_result&) mutable { then(); },
          [self, what, copy, then](caf::error& err) mutable {
            self->state.stats->add(c_errors);
            if (self->state.backlog.empty())
              log::write(log::level::warn, "feeds: redis write failed, keeping it for retry (memory feeds are updated)",
                         {{"what", what}, {"error", description_of(err)}});
            to_backlog(self, std::move(*copy), then);
          });
}

// One backlog entry at a time, in order; stops at the first failure until the next tick.
void flush_backlog(manager_ptr self) {
  auto& s = self->state;
  if (s.backlog.empty() || s.backlog_in_flight)
    return;
  s.backlog_in_flight = true;
  self->request(s.deps->redis, s.opts->timeout, redis_request{s.backlog.front().cmds})
    .then(
      [self](redis_result&) {
        auto& s = self->state;
        s.backlog_in_flight = false;
        if (s.backlog.empty())
          return;
        auto then = std::move(s.backlog.front().then);
        s.backlog.pop_front();
        if (then)
          then();
        if (s.backlog.empty())
          log::write(log::level::info, "feeds: mirror writes caught up after redis came back");
        flush_backlog(self);
      },
      [self](caf::error&) { self->state.backlog_in_flight = false; });
}

template <class Fn>
void chunked(const std::vector<std::int64_t>& accounts, std::size_t chunk, Fn fn) {
  for (std::size_t i = 0; i < accounts.size(); i += chunk)
    fn(std::vector<std::int64_t>(accounts.begin() + static_cast<std::ptrdiff_t>(i),
                                 accounts.begin() + static_cast<std::ptrdiff_t>(std::min(accounts.size(), i + chunk))));
}

void ring_add(manager_state& s, const pg::fanout_post& p) {
  auto it = s.rings.find(p.entry.author);
  if (it == s.rings.end() || !it->second.loaded || p.visibility == 3)
    return;  // a ring not in memory loads from Postgres (which has this status) when needed
  it->second.entries.push_front({p.entry, p.in_reply_to_account, p.visibility});
  while (it->second.entries.size() > s.opts->ring_size)
    it->second.entries.pop_back();
}

void start_fanout(manager_ptr self);

// Delivers one post to its recipients: live feeds by message, mirrors by script.
// Entries for live feeds, gathered over a batch: one message per feed, not per post.
using live_pushes = std::unordered_map<std::int64_t, std::vector<pg::feed_entry>>;

void deliver(manager_ptr self, const pg::fanout_post& p, const pg::fanout_targets& t, std::vector<rd::command>& cmds,
             live_pushes& live) {
  auto& s = self->state;
  bool large = t.followers > s.opts->fanout_max_followers && p.visibility != 3;
  if (large) {
    ring_add(s, p);
    s.stats->add(c_ring_merges);
  }
  // recipients[0] is the author, served when the post was announced (pushing
  // again is harmless: the author's node may have been another one).
  const auto& to = t.recipients;
  for (auto r : to)
    if (find_live(self, r))
      live[r].push_back(p.entry);
  chunked(to, s.opts->push_chunk, [&](std::vector<std::int64_t> part) {
    cmds.push_back(rd::feed_push(part, {p.entry}, static_cast<int>(s.opts->cache_size)));
  });
  auto followers = static_cast<std::int64_t>(to.size()) - (!to.empty() && to.front() == p.entry.author ? 1 : 0);
  s.counts.pushes += static_cast<std::uint64_t>(followers);  // the author's own push is not counted
  s.stats->add(c_pushes, followers);
}

// Fan-out batches: every fan-out job that arrives while a batch runs goes into
// the next one (one pool job loading the statuses and computing all their
// recipients, one Redis pipeline). A job is answered once its mirror writes are
// made; a failure fails the whole batch's jobs, which the job queue retries.
void start_fanout(manager_ptr self) {
  auto& s = self->state;
  if (s.fanouts_in_flight >= 2 || s.fanout_queue.empty())
    return;
  auto batch = std::make_shared<std::vector<manager_state::fanout_work>>();
  std::vector<std::int64_t> ids;
  while (!s.fanout_queue.empty() && batch->size() < 128) {
    ids.push_back(s.fanout_queue.front().status);
    batch->push_back(std::move(s.fanout_queue.front()));
    s.fanout_queue.pop_front();
  }
  ++s.fanouts_in_flight;
  auto started = clock_type::now();
  auto posts = std::make_shared<std::vector<pg::fanout_post>>();
  auto targets = std::make_shared<std::vector<pg::fanout_targets>>();
  auto max_followers = s.opts->fanout_max_followers;
  auto days = s.opts->active_days;
  self->request(s.deps->pool, s.opts->timeout,
                db_call{"feeds.fanout",
                        [=](pqxx::connection_base& c) {
                          *posts = pg::posts_by_ids(c, ids);  // deleted meanwhile: nothing to deliver
                          for (auto& p : *posts)
                            targets->push_back(pg::fanout_recipients(c, p, max_followers, days));
                        },
                        static_cast<std::uint32_t>(batch->size())})
    .then(
      [self, batch, posts, targets, started](ok_atom) {
        auto& s = self->state;
        auto queried = clock_type::now();
        if (s.stage_recipients)
          s.stage_recipients->observe(std::chrono::duration<double>(queried - started).count());
        std::vector<rd::command> cmds;
        live_pushes live;
        for (std::size_t i = 0; i < posts->size(); ++i)
          deliver(self, (*posts)[i], (*targets)[i], cmds, live);
        for (auto& [account, entries] : live)
          if (auto* lf = find_live(self, account))
            self->send(lf->handle, feed_push{std::move(entries)});
        s.stats->add(c_fanouts, static_cast<std::int64_t>(posts->size()));
        auto finished = [self, batch, queried] {
          auto& s = self->state;
          if (s.stage_write)
            s.stage_write->observe(std::chrono::duration<double>(clock_type::now() - queried).count());
          for (auto& w : *batch) {
            if (s.fanout_lag && w.at_ms > 0)
              s.fanout_lag->observe(seconds_since_wall_ms(w.at_ms));
            w.rp.deliver(ok_atom::value);
          }
        };
        redis_send(self, std::move(cmds), "fanout", finished);
        --s.fanouts_in_flight;
        start_fanout(self);
      },
      [self, batch](caf::error& err) {
        auto& s = self->state;
        s.stats->add(c_errors);
        --s.fanouts_in_flight;
        log::write(log::level::warn, "feeds: fan-out failed; its jobs will be retried",
                   {{"statuses", batch->size()}, {"error", description_of(err)}});
        for (auto& w : *batch)
          w.rp.deliver(err);
        start_fanout(self);
      });
}

void observe_revocation(manager_state& s, double lag_s) {
  ++s.counts.revocations;
  s.stats->add(c_revocations);
  if (s.revocation_lag)
    s.revocation_lag->observe(lag_s);
}

// On the node that committed a removal: the author's next read must not show
// it, so revoke there at once; every other timeline follows when the removal
// job (revoke_everywhere) has found them.
void on_removal(manager_ptr self, const feed_removal& r) {
  auto& s = self->state;
  self->send(s.deps->cache, hot_invalidate{r.ids, {}});
  if (auto* lf = find_live(self, r.author))
    self->send(lf->handle, feed_revoke{r.ids, 0, false});
}

// The feed.revoke job: the statuses and their reblogs leave every live feed,
// large-author ring and mirror that may hold them; answered when the mirrors are written.
void revoke_everywhere(manager_ptr self, std::vector<std::int64_t> ids, std::int64_t at_ms,
                       caf::typed_response_promise<ok_atom> rp) {
  auto& s = self->state;
  auto targets = std::make_shared<pg::removal_targets>();
  self->request(s.deps->pool, s.opts->timeout,
                db_call{"feeds.removal", [=](pqxx::connection_base& c) { *targets = pg::removal_recipients(c, ids); }})
    .then(
      [self, targets, at_ms, rp](ok_atom) mutable {
        auto& s = self->state;
        std::vector<std::int64_t> all_ids;
        for (auto& e : targets->entries)
          all_ids.push_back(e.id);
        for (auto& [author, rg] : s.rings)
          rg.entries.erase(std::remove_if(rg.entries.begin(), rg.entries.end(),
                                          [&](const pg::ring_entry& x) {
                                            return std::find(all_ids.begin(), all_ids.end(), x.entry.id) !=
                                                   all_ids.end();
                                          }),
                           rg.entries.end());
        for (auto a : targets->accounts)
          if (auto* lf = find_live(self, a))
            self->send(lf->handle, feed_revoke{all_ids, 0, false});
        self->send(s.deps->cache, hot_invalidate{all_ids, {}});
        std::vector<rd::command> cmds;
        chunked(targets->accounts, s.opts->push_chunk,
                [&](std::vector<std::int64_t> part) { cmds.push_back(rd::feed_remove(part, targets->entries)); });
        redis_send(self, std::move(cmds), "removal", [self, at_ms, rp]() mutable {
          observe_revocation(self->state, seconds_since_wall_ms(at_ms));
          rp.deliver(ok_atom::value);
        });
      },
      [self, rp](caf::error& err) mutable {
        self->state.stats->add(c_errors);
        log::write(log::level::warn, "feeds: revocation failed; its job will be retried", {{"error", description_of(err)}});
        rp.deliver(err);
      });
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
    self->state.fanout_queue.push_back({id, at_ms, rp});
    start_fanout(self);
    return rp;
  }
  if (w.kind == pg::revoke_kind) {
    std::vector<std::int64_t> ids;
    if (payload.contains("ids") && payload["ids"].is_array())
      for (auto& v : payload["ids"])
        if (auto id = number(v); id > 0)
          ids.push_back(id);
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
  auto notify_live = [self](std::int64_t account, const feed_relation& rel) {
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
                              [&](std::int64_t a) { return s.rings_loading.count(a) != 0; });
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
  std::vector<std::int64_t> cold;
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
          bool hit = std::any_of(w.authors.begin(), w.authors.end(), [&](std::int64_t a) {
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
                  db_call{"feeds.touch", [accounts](pqxx::connection_base& c) { pg::touch_active(c, accounts); },
                          static_cast<std::uint32_t>(accounts.size())})
      .then([](ok_atom) {}, [self](caf::error&) { self->state.stats->add(c_errors); });
  }
  flush_backlog(self);
  self->delayed_send(self, s.opts->tick, tick_atom::value);
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
  if (metrics) {
    st.live_gauge = &metrics->get_gauge("chorus_feed_live_actors", "Feed actors live on this node");
    st.activations = &metrics->get_counter("chorus_feed_activations_total", "Feed actors activated");
    st.passivations = &metrics->get_counter("chorus_feed_passivations_total", "Feed actors passivated (idle or LRU)");
    st.reads_hit = &metrics->get_counter("chorus_feed_reads_total", "Home timeline reads by whether the feed was live",
                                         {{"result", "hit"}});
    st.reads_cold = &metrics->get_counter("chorus_feed_reads_total", "Home timeline reads by whether the feed was live",
                                          {{"result", "activation"}});
    st.fanout_lag = &metrics->get_histogram("chorus_fanout_lag_seconds",
                                            "Post committed → last follower timeline updated", {}, lag_buckets());
    st.writes_dropped = &metrics->get_counter("chorus_feed_mirror_writes_dropped_total",
                                              "Mirror writes dropped because the retry backlog was full");
    st.stage_recipients = &metrics->get_histogram("chorus_fanout_stage_seconds", "Fan-out batch stages",
                                                  {{"stage", "recipients"}}, lag_buckets());
    st.stage_write = &metrics->get_histogram("chorus_fanout_stage_seconds", "Fan-out batch stages",
                                             {{"stage", "write"}}, lag_buckets());
    st.revocation_lag = &metrics->get_histogram("chorus_revocation_lag_seconds",
                                                "Revoking event → removed from every cached timeline", {}, lag_buckets());
  }
  self->set_exit_handler([self](caf::exit_msg& em) {
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
  });
  st.publish();
  self->delayed_send(self, st.opts->tick, tick_atom::value);
  return {
    [=](home_query& q) -> caf::result<status_view> {
      observe(self, *self->state.stats);
      return self->delegate(feed_for(self, q.viewer), std::move(q));
    },
    [=](home_request& r) {
      observe(self, *self->state.stats);
      self->send(feed_for(self, r.q.viewer), std::move(r));
    },
    [=](feed_post& p) {
      auto& s = self->state;
      observe(self, *s.stats);
      // The author sees their own status on their next read: push it now, on
      // the node that committed it; its followers get it from the fan-out job.
      if (auto* lf = find_live(self, p.entry.author))
        self->send(lf->handle, feed_push{{p.entry}});
      redis_send(self, {rd::feed_push({p.entry.author}, {p.entry}, static_cast<int>(s.opts->cache_size))}, "own post",
                 [] {});
    },
    [=](feed_removal& r) {
      observe(self, *self->state.stats);
      on_removal(self, r);
    },
    [=](job_work& w) -> caf::result<ok_atom> {
      observe(self, *self->state.stats);
      return on_job(self, w);
    },
    [=](feed_relation& r) {
      observe(self, *self->state.stats);
      on_relation(self, std::move(r));
    },
    [=](feed_interaction& i) {
      auto& s = self->state;
      observe(self, *s.stats);
      self->send(s.deps->cache, hot_invalidate{{i.status}, {}});
      if (auto* lf = find_live(self, i.viewer))
        self->send(lf->handle, i);
    },
    [=](ring_query& q) -> caf::result<ring_reply> {
      observe(self, *self->state.stats);
      return on_ring_query(self, q);
    },
    [=](stats_atom) -> feed_stats {
      auto& s = self->state;
      s.publish();
      return s.counts;
    },
    [=](tick_atom) { on_tick(self); },
  };
}

} // namespace

feeds_actor spawn_feeds(caf::actor_system& sys, feeds_options opts, pg_pool_actor pool, redis_actor redis,
                        status_cache_actor cache, actor_registry& reg, metrics::registry* metrics) {
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
