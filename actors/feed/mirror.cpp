// A feed's Redis mirror: activation (the mirror if Redis has one, else a
// rebuild from Postgres), mirror writes, and the periodic re-read that picks
// up other nodes' writes.
#include "actors/feed/feed_state.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/redis/feeds.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <memory>

namespace chorus::actors::feeds_detail {

namespace rd = storage::redis;

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

namespace {

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
        s.snapshot_at = clock_type::now();
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

} // namespace

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

// Feed events reach a live feed at its owner (the cluster routes them there,
// actors/feed/routing.cpp), so the mirror is read only at activation. A live
// feed re-reads its follows and hidden accounts every feed.snapshot_ttl_ms while
// it is being read (a safety net: relationship changes arrive as events too).
void maybe_sync(feed_ptr self) {
  auto& s = self->state;
  auto& o = s.deps->opts;
  auto now = clock_type::now();
  bool snapshot = o.snapshot_ttl.count() > 0 && now - s.snapshot_at >= o.snapshot_ttl;
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

} // namespace chorus::actors::feeds_detail
