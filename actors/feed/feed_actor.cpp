// The feed actor: one user's home timeline, kept in memory while the user
// reads it (feed::timeline holds the logic), served as rendered pages.
#include "actors/feed/feed_state.hpp"

#include "actors/protocol/errors.hpp"
#include "common/metrics.hpp"
#include "storage/redis/feeds.hpp"

#include <caf/actor_system.hpp>
#include <caf/local_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <unordered_map>

namespace chorus::actors::feeds_detail {

namespace rd = storage::redis;

namespace {

// Applies `fn` now, or after the timeline has loaded.
template <class Fn>
void when_ready(feed_ptr self, Fn fn) {
  auto& s = self->state;
  if (!s.ready)
    return s.deferred.emplace_back(std::move(fn)), void();
  fn();
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
                                               const std::unordered_map<status_id,
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
void hydrate(feed_ptr self, std::vector<status_id> ids, answer rp, pg::page key) {
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
        std::vector<status_id> unknown;
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
                fc.set(status_id{id}, feed::flag_cache::favourited, true);
              for (auto id : flags->reblogged)
                fc.set(status_id{id}, feed::flag_cache::reblogged, true);
              for (auto id : flags->bookmarked)
                fc.set(status_id{id}, feed::flag_cache::bookmarked, true);
              done();
            },
            [rp](caf::error& err) mutable { rp.deliver(err); });
      },
      [rp](caf::error& err) mutable { rp.deliver(err); });
}

std::vector<status_id> ids_of(const std::vector<pg::feed_entry>& entries) {
  std::vector<status_id> ids;
  ids.reserve(entries.size());
  for (auto& e : entries)
    ids.push_back(e.id);
  return ids;
}

} // namespace

void serve(feed_ptr self, home_query q, answer rp) {
  auto& s = self->state;
  maybe_sync(self);  // asynchronous: this read is answered from memory as it is now
  if (auto* v = cached(s, q.page))
    return rp.deliver(*v), void();
  if (s.tl.beyond(q.page)) {
    // Older than the cached window: one keyset query (cost independent of depth).
    if (s.deps->deep_reads)
      s.deps->deep_reads->inc();
    auto ids = std::make_shared<std::vector<status_id>>();
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

namespace {

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

feed_actor::behavior_type feed_fn(feed_ptr self, account_id viewer, std::shared_ptr<const feed_deps> deps) {
  auto& st = self->state;
  st.viewer = viewer;
  st.deps = deps;
  st.tl = feed::timeline(deps->opts.cache_size);
  st.facts = feed::viewer_facts(viewer);
  activate(self);
  return {
    [=](home_query& q) -> caf::result<status_view> {
      // Asked by another node's manager (routed here by the manager, which
      // delegates): that node may cache the page, so tell it when this changes.
      if (auto& src = self->current_sender(); src && src->node() != self->node() &&
                                               self->state.deps->opts.page_cache.count() > 0) {
        auto& w = self->state.watchers;
        auto until = clock_type::now() + self->state.deps->opts.page_cache;
        auto it = std::find_if(w.begin(), w.end(), [&](auto& x) { return x.first == src; });
        if (it != w.end())
          it->second = until;
        else
          w.emplace_back(src, until);
      }
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
      if (!self->state.watchers.empty())
        self->state.tell_watchers();  // a later activation would not know them
      if (self->state.ready)
        self->quit();
      else
        self->state.quit_when_ready = true;
    },
  };
}

} // namespace

void feed_state::tell_watchers() {
  auto now = clock_type::now();
  for (auto& [who, until] : watchers)
    if (until > now)
      caf::anon_send(caf::actor_cast<feeds_actor>(who), feed_changed{viewer});
  watchers.clear();
}

feed_actor spawn_feed(caf::local_actor* manager, account_id viewer, std::shared_ptr<const feed_deps> deps) {
  return manager->spawn<caf::linked>(feed_fn, viewer, std::move(deps));
}

} // namespace chorus::actors::feeds_detail
