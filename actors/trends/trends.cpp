#include "actors/trends/trends.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "storage/pg/trends.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;

enum counter : std::size_t { c_posts, c_interactions, c_removals, c_queries, c_pruned, c_statuses, c_tags, c_seeded,
                             c_errors };

double system_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct trends_state {
  static inline const char* name = "chorus.trends";
  trends_options opts;
  pg_pool_actor pool;
  status_cache_actor cache;
  std::optional<trend_scores> scores;  // built in the behaviour function (needs settings and epoch)
  std::shared_ptr<actor_stats> stats;
  bool seeded = false;
  bool seeding = false;
  int seed_tries = 0;

  double now() const { return opts.now ? opts.now() : system_now(); }
  void publish_sizes() {
    stats->set(c_statuses, static_cast<std::int64_t>(scores->status_count()));
    stats->set(c_tags, static_cast<std::int64_t>(scores->tag_count()));
  }
};

using self_ptr = trends_actor::stateful_pointer<trends_state>;

std::optional<trend_action> action_of(status_verb v) {
  switch (v) {
    case status_verb::favourite: return trend_action::favourite;
    case status_verb::unfavourite: return trend_action::unfavourite;
    case status_verb::reblog: return trend_action::reblog;
    case status_verb::unreblog: return trend_action::unreblog;
    default: return std::nullopt;  // bookmarks are private; removals come as feed_removal
  }
}

trend_seed seed_of(const pg::trend_seed_row& r) {
  return {r.id, r.account_id, static_cast<double>(r.created_at), r.favourites_count, r.reblogs_count, r.replies_count,
          r.tags};
}

// One bounded query, once: retried on later ticks only if it failed (Postgres may
// still be starting), at most seed_attempts times.
void start_seed(self_ptr self) {
  auto& s = self->state;
  if (s.seeded || s.seeding || s.opts.seed_hours <= 0 || s.seed_tries >= s.opts.seed_attempts)
    return;
  s.seeding = true;
  ++s.seed_tries;
  auto rows = std::make_shared<std::vector<pg::trend_seed_row>>();
  auto hours = s.opts.seed_hours;
  auto limit = s.opts.seed_limit;
  self->request(s.pool, s.opts.timeout,
                db_call{"trends.seed",
                        [rows, hours, limit](pqxx::connection_base& c) {
                          *rows = pg::recent_public_statuses(c, hours, limit);
                        }})
    .then(
      [self, rows](ok_atom) {
        auto& st = self->state;
        st.seeding = false;
        st.seeded = true;
        for (const auto& r : *rows)
          st.scores->seed(seed_of(r));
        st.stats->add(c_seeded, static_cast<std::int64_t>(rows->size()));
        st.publish_sizes();
        log::write(log::level::info, "trends seeded", {{"statuses", rows->size()}});
      },
      [self](caf::error& err) {
        self->state.seeding = false;
        self->state.stats->add(c_errors);
        log::write(log::level::warn, "trends seed failed", {{"error", description_of(err)}});
      });
}

// Puts the hydrated rows in ranking order and drops what `viewer` may not see.
// Returns the ids found deleted, so the scores can forget them at once.
std::vector<std::int64_t> rank_and_filter(pg::status_bundle& b, const std::vector<std::int64_t>& ids,
                                          std::int64_t viewer) {
  std::unordered_map<std::int64_t, std::size_t> rank;
  for (std::size_t i = 0; i < ids.size(); ++i)
    rank.emplace(ids[i], i);
  std::vector<std::int64_t> deleted;
  std::vector<pg::status_row> kept;
  for (auto& s : b.statuses) {
    if (s.deleted)
      deleted.push_back(s.id);
    if (!rank.count(s.id) || s.reblog_of_id != 0 || !pg::visible_to(s, viewer))
      continue;
    kept.push_back(std::move(s));
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [&](const pg::status_row& x, const pg::status_row& y) { return rank[x.id] < rank[y.id]; });
  b.statuses.swap(kept);
  return deleted;
}

// Finishes a trending-statuses read: order, filter, forget deleted ones, answer.
void deliver_view(self_ptr self, caf::typed_response_promise<status_view> rp, pg::status_bundle b,
                  const std::vector<status_id>& ids, account_id viewer) {
  auto deleted = rank_and_filter(b, raw_ids(ids), viewer);
  if (!deleted.empty()) {
    self->state.scores->on_removed(deleted);
    self->state.publish_sizes();
  }
  status_view v;
  v.bundle = std::move(b);
  rp.deliver(std::move(v));
}

caf::result<status_view> trending_statuses(self_ptr self, const trend_statuses_query& q) {
  auto& s = self->state;
  auto limit = static_cast<std::size_t>(std::clamp(q.limit, 0, 100));
  auto offset = static_cast<std::size_t>(std::max(q.offset, 0));
  auto ids = ids_of<status_id>(s.scores->top_statuses(offset, limit));
  if (ids.empty())
    return status_view{};
  auto rp = self->make_response_promise<status_view>();
  auto viewer = q.viewer;
  auto fail = [self, rp](caf::error& err) mutable {
    self->state.stats->add(c_errors);
    rp.deliver(std::move(err));
  };
  // Anonymous readers get viewer-independent rows: the hot-status cache has them.
  if (viewer == 0 && s.cache) {
    self->request(s.cache, s.opts.timeout, hot_get{ids})
      .then([self, rp, ids](hot_reply& r) { deliver_view(self, rp, std::move(r.bundle), ids, account_id{}); }, fail);
    return rp;
  }
  // Signed in: viewer flags and visibility (blocks, follows) need one pool job.
  auto out = std::make_shared<pg::status_bundle>();
  self->request(s.pool, s.opts.timeout,
                db_call{"trends.statuses",
                        [out, ids, viewer](pqxx::connection_base& c) { *out = pg::load_statuses(c, ids, viewer); }})
    .then([self, rp, out, ids, viewer](ok_atom) { deliver_view(self, rp, std::move(*out), ids, viewer); }, fail);
  return rp;
}

trend_tag_list trending_tags(self_ptr self, const trend_tags_query& q) {
  auto limit = static_cast<std::size_t>(std::clamp(q.limit, 0, 100));
  auto offset = static_cast<std::size_t>(std::max(q.offset, 0));
  trend_tag_list out;
  for (auto& t : self->state.scores->top_tags(offset, limit, self->state.now())) {
    trend_tag tag;
    tag.name = std::move(t.name);
    tag.score = t.score;
    for (const auto& d : t.history)
      tag.history.push_back({d.day, d.uses, d.accounts});
    out.tags.push_back(std::move(tag));
  }
  return out;
}

trends_actor::behavior_type trends_fn(self_ptr self, trends_options opts, pg_pool_actor pool,
                                      status_cache_actor cache, actor_registry* reg) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.pool = std::move(pool);
  st.cache = std::move(cache);
  st.scores.emplace(st.opts.scoring, st.now());
  st.stats = reg->enlist(self, "trends", "main",
                         {"posts", "interactions", "removals", "queries", "pruned", "statuses", "tags", "seeded",
                          "errors"});
  self->send(self, tick_atom::value);  // the first tick seeds
  return {
    [=](feed_post& p) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.stats->add(c_posts);
      trend_post tp{p.entry.id, p.entry.author, p.reblog_of_id, p.visibility, std::move(p.tags)};
      auto now = s.now();
      s.scores->on_post(tp, now);
      if (p.in_reply_to_id && p.visibility <= 1)  // a public/unlisted reply is engagement with its parent
        s.scores->on_reply(p.in_reply_to_id, p.entry.author, now);
      s.publish_sizes();
    },
    [=](feed_interaction& i) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.stats->add(c_interactions);
      if (auto a = action_of(i.verb))
        s.scores->on_action(i.status, i.viewer, *a, s.now());
    },
    [=](feed_removal& r) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.stats->add(c_removals);
      s.scores->on_removed(raw_ids(r.ids));
      s.publish_sizes();
    },
    [=](trend_statuses_query& q) -> caf::result<status_view> {
      observe(self, *self->state.stats);
      self->state.stats->add(c_queries);
      return trending_statuses(self, q);
    },
    [=](trend_tags_query& q) -> caf::result<trend_tag_list> {
      observe(self, *self->state.stats);
      self->state.stats->add(c_queries);
      return trending_tags(self, q);
    },
    [=](tick_atom) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.stats->add(c_pruned, static_cast<std::int64_t>(s.scores->prune(s.now())));
      s.publish_sizes();
      start_seed(self);
      self->delayed_send(self, s.opts.tick, tick_atom::value);
    },
  };
}

} // namespace

trends_actor spawn_trends(caf::actor_system& sys, trends_options opts, pg_pool_actor pool, status_cache_actor cache,
                          actor_registry& reg) {
  return sys.spawn(trends_fn, std::move(opts), std::move(pool), std::move(cache), &reg);
}

} // namespace chorus::actors
