#include "actors/statuses/statuses.hpp"

#include "actors/db/batcher.hpp"
#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"
#include "common/clock.hpp"
#include "common/text.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/statuses.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <set>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;
using create_batcher = batcher_actor<status_draft, status_created>;
using action_batcher = batcher_actor<action_item, action_outcome>;

enum counter : std::size_t { c_created, c_replayed, c_reads, c_actions };

// Storage stores, it does not render: the texts of a batch are parsed here, the
// mentioned usernames looked up once for the whole batch, and each status gets
// its rendered content (links for local accounts only), mention ids and tags.
std::vector<pg::new_status> render_batch(pqxx::connection_base& c, const std::vector<status_draft>& drafts) {
  std::vector<text::parsed> parsed;
  parsed.reserve(drafts.size());
  std::set<std::string> names;
  for (auto& d : drafts) {
    parsed.push_back(text::parse(d.fields.text));
    for (auto& m : parsed.back().mentions)
      names.insert(text::lower(m));
  }
  auto local = pg::account_ids_by_username(c, {names.begin(), names.end()});
  std::vector<pg::new_status> out;
  out.reserve(drafts.size());
  for (std::size_t i = 0; i < drafts.size(); ++i) {
    auto s = drafts[i].fields;
    s.content = text::render(s.text, drafts[i].base_url,
                             [&](const std::string& u) { return local.count(text::lower(u)) > 0; });
    s.mention_ids.clear();
    for (auto& m : parsed[i].mentions)
      if (auto it = local.find(text::lower(m)); it != local.end())
        s.mention_ids.emplace_back(it->second);
    s.tags = std::move(parsed[i].tags);
    out.push_back(std::move(s));
  }
  return out;
}

// A batch of creates: rendered here, stored in one transaction by storage.
std::vector<status_created> create_batch(pqxx::connection_base& c, const std::vector<status_draft>& drafts) {
  auto created = pg::create_statuses(c, render_batch(c, drafts));
  std::vector<status_created> out;
  out.reserve(created.size());
  for (auto& cs : created) {
    status_created sc;
    sc.result = cs.result;
    sc.view.bundle = std::move(cs.bundle);
    out.push_back(std::move(sc));
  }
  return out;
}

struct statuses_state {
  static inline const char* name = "chorus.statuses";
  statuses_options opts;
  pg_pool_actor pool;
  create_batcher writer;
  action_batcher actions;
  id_generator* ids = nullptr;
  std::shared_ptr<actor_stats> stats;
  status_listeners listeners;
};

using self_ptr = statuses_actor::stateful_pointer<statuses_state>;

// Runs `fn` as one pool job answering with the view it fills.
template <class Fn>
caf::result<status_view> view_job(self_ptr self, const char* name, Fn fn) {
  return pool_job<status_view>(self, self->state.pool, self->state.opts.timeout, name, std::move(fn));
}

caf::error not_found() { return make_error(errc::not_found, "Record not found"); }

// Loads one status for `viewer`; not_found unless visible.
caf::error load_visible(pqxx::connection_base& c, status_id id, account_id viewer, status_view& out) {
  out.bundle = pg::load_statuses(c, {id}, viewer);
  pg::keep_visible(out.bundle, viewer);
  return out.bundle.statuses.empty() ? not_found() : caf::error{};
}

// Tells feeds and trends about a status that was just committed.
void announce_post(self_ptr self, const pg::status_bundle& b) {
  auto& l = self->state.listeners;
  if (b.statuses.empty() || (!l.feeds && !l.trends))
    return;
  const auto& s = b.statuses.front();
  feed_post ev;
  ev.entry = {s.id, s.account_id, account_id{}};
  ev.reblog_of_id = s.reblog_of_id;
  if (s.reblog_of_id)
    if (auto it = b.reblogged.find(s.reblog_of_id); it != b.reblogged.end())
      ev.entry.origin_author = it->second.account_id;
  ev.in_reply_to_id = s.in_reply_to_id;
  ev.in_reply_to_account = s.in_reply_to_account_id;
  ev.visibility = s.visibility;
  ev.mentions = s.mention_ids;
  ev.tags = s.tags;
  ev.language = s.language;
  ev.at_ns = steady_now_ns();
  if (l.trends)
    self->send(l.trends, ev);
  if (l.feeds)
    self->send(l.feeds, std::move(ev));
}

void announce_removal(self_ptr self, std::vector<status_id> ids, account_id author, bool moderation = false) {
  auto& l = self->state.listeners;
  feed_removal ev{std::move(ids), author, moderation, steady_now_ns()};
  if (l.trends)
    self->send(l.trends, ev);
  if (l.feeds)
    self->send(l.feeds, std::move(ev));
}

// After an interaction committed: flags, caches, trends, and for reblogs the
// fan-out of the new reblog status (or the revocation of the removed one).
void announce_action(self_ptr self, const status_action& a, const action_outcome& o) {
  auto& l = self->state.listeners;
  if (a.verb == status_verb::remove || a.verb == status_verb::takedown) {
    if (!o.bundle.statuses.empty())
      announce_removal(self, {a.id}, o.bundle.statuses.front().account_id, a.verb == status_verb::takedown);
    return;
  }
  account_id author;  // of the status acted on (the original, for reblogs)
  if (!o.bundle.statuses.empty()) {
    const auto& front = o.bundle.statuses.front();
    author = front.account_id;
    if (auto it = o.bundle.reblogged.find(front.reblog_of_id); front.reblog_of_id && it != o.bundle.reblogged.end())
      author = it->second.account_id;
  }
  if (a.verb == status_verb::reblog)
    announce_post(self, o.bundle);
  if (a.verb == status_verb::unreblog && o.removed_id)
    announce_removal(self, {status_id{o.removed_id}}, a.viewer);
  feed_interaction ev{a.viewer, a.id, author, a.verb, steady_now_ns()};
  if (l.trends)
    self->send(l.trends, ev);
  if (l.feeds)
    self->send(l.feeds, std::move(ev));
}

statuses_actor::behavior_type statuses_fn(self_ptr self, statuses_options opts, pg_pool_actor pool, id_generator* ids,
                                          actor_registry* reg, status_listeners listeners) {
  auto& st = self->state;
  st.listeners = std::move(listeners);
  st.opts = opts;
  st.pool = pool;
  st.ids = ids;
  st.stats = reg->enlist(self, "statuses", "main", {"created", "replayed", "reads", "actions"});
  batch_spec<status_draft, status_created> spec;
  spec.name = "statuses.create";
  spec.max_batch = opts.max_batch;
  spec.max_in_flight = opts.max_in_flight;
  spec.queue_limit = opts.queue_limit;
  spec.timeout = opts.timeout;
  spec.run = create_batch;
  st.writer = spawn_batcher(self->system(), pool, spec, *reg);
  self->link_to(st.writer);
  batch_spec<action_item, action_outcome> aspec;
  aspec.name = "statuses.actions";
  aspec.max_batch = opts.max_batch;
  aspec.max_in_flight = opts.max_in_flight;
  aspec.queue_limit = opts.queue_limit;
  aspec.timeout = opts.timeout;
  aspec.run = pg::apply_actions;
  st.actions = spawn_batcher(self->system(), pool, aspec, *reg);
  self->link_to(st.actions);
  return {
    [=](status_create& req) -> caf::result<status_view> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<status_view>();
      status_draft f{std::move(req.fields), std::move(req.base_url)};
      f.fields.id = status_id{static_cast<std::int64_t>(s.ids->next())};
      f.fields.account_id = req.who.account_id;
      f.fields.application_id = req.who.app_id;
      auto on_created = [self, rp](status_created& c) mutable {
        if (c.result.parent_missing)
          return rp.deliver(make_error(errc::not_found, "the status replied to does not exist")), void();
        self->state.stats->add(c.result.replayed ? c_replayed : c_created);
        if (!c.result.replayed)
          announce_post(self, c.view.bundle);
        rp.deliver(std::move(c.view));
      };
      if (!s.opts.batching) {
        auto out = std::make_shared<std::vector<status_created>>();
        self->request(s.pool, s.opts.timeout,
                      db_call{"statuses.create_one", [out, f](pqxx::connection_base& c) { *out = create_batch(c, {f}); }})
          .then([out, on_created](ok_atom) mutable { on_created(out->front()); },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      }
      self->request(s.writer, s.opts.timeout, std::move(f))
        .then(on_created, [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](status_get& q) -> caf::result<status_view> {
      observe(self, *self->state.stats);
      self->state.stats->add(c_reads);
      return view_job(self, "statuses.get",
                      [q](pqxx::connection_base& c, status_view& out) { return load_visible(c, q.id, q.viewer, out); });
    },
    [=](status_action& a) -> caf::result<status_view> {
      auto& s = self->state;
      observe(self, *s.stats);
      s.stats->add(c_actions);
      auto rp = self->make_response_promise<status_view>();
      action_item item{a, static_cast<std::int64_t>(s.ids->next())};
      self->request(s.actions, s.opts.timeout, std::move(item))
        .then(
          [self, rp, a](action_outcome& o) mutable {
            if (o.code != errc::ok)
              return rp.deliver(make_error(o.code, o.error)), void();
            announce_action(self, a, o);
            status_view v;
            v.bundle = std::move(o.bundle);
            rp.deliver(std::move(v));
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](timeline_query& q) -> caf::result<status_view> {
      observe(self, *self->state.stats);
      self->state.stats->add(c_reads);
      return view_job(self, "statuses.timeline", [q](pqxx::connection_base& c, status_view& out) -> caf::error {
        std::vector<status_id> ids;
        std::vector<std::pair<std::int64_t, std::int64_t>> cursored;
        switch (q.kind) {
          case timeline_kind::public_: ids = pg::public_timeline(c, q.viewer, q.page); break;
          case timeline_kind::tag: ids = pg::tag_timeline(c, q.tag, q.viewer, q.page); break;
          case timeline_kind::account:
            ids = pg::account_statuses(c, q.account, q.viewer, q.page, q.exclude_replies, q.exclude_reblogs);
            break;
          case timeline_kind::home: ids = pg::home_timeline(c, q.viewer, q.page); break;
          case timeline_kind::favourites: cursored = pg::favourites_of(c, q.viewer, q.page); break;
          case timeline_kind::bookmarks: cursored = pg::bookmarks_of(c, q.viewer, q.page); break;
        }
        if (!cursored.empty()) {
          for (auto& [cursor, id] : cursored)
            ids.emplace_back(id);
          out.newest_cursor = cursored.front().first;
          out.oldest_cursor = cursored.back().first;
        } else if (!ids.empty()) {
          out.newest_cursor = ids.front();
          out.oldest_cursor = ids.back();
        }
        out.bundle = pg::load_statuses(c, ids, q.viewer);
        pg::keep_visible(out.bundle, q.viewer);
        return {};
      });
    },
    [=](context_query& q) -> caf::result<status_view> {
      observe(self, *self->state.stats);
      self->state.stats->add(c_reads);
      return view_job(self, "statuses.context", [q](pqxx::connection_base& c, status_view& out) -> caf::error {
        if (auto err = load_visible(c, q.id, q.viewer, out))
          return err;
        auto [up, down] = pg::context(c, q.id);
        auto ancestors = pg::load_statuses(c, up, q.viewer);
        pg::keep_visible(ancestors, q.viewer);
        auto descendants = pg::load_statuses(c, down, q.viewer);
        pg::keep_visible(descendants, q.viewer);
        out.bundle = std::move(ancestors);
        out.split = out.bundle.statuses.size();
        for (auto& s : descendants.statuses)
          out.bundle.statuses.push_back(std::move(s));
        for (auto& [id, a] : descendants.accounts)
          out.bundle.accounts.emplace(id, a);
        return {};
      });
    },
    [=](people_query& q) -> caf::result<account_list> {
      auto& s = self->state;
      observe(self, *s.stats);
      s.stats->add(c_reads);
      return pool_job<account_list>(self, s.pool, s.opts.timeout, "statuses.people",
                                    [q](pqxx::connection_base& c, account_list& out) -> caf::error {
                                      status_view v;
                                      if (auto err = load_visible(c, q.id, q.viewer, v))
                                        return err;
                                      auto pairs = q.kind == status_people::favourited_by
                                                     ? pg::favourited_by(c, q.id, q.page)
                                                     : pg::reblogged_by(c, q.id, q.page);
                                      out = pg::load_account_page(c, pairs);
                                      return {};
                                    });
    },
  };
}

} // namespace

statuses_actor spawn_statuses(caf::actor_system& sys, statuses_options opts, pg_pool_actor pool, id_generator& ids,
                              actor_registry& reg, status_listeners listeners) {
  return sys.spawn(statuses_fn, opts, std::move(pool), &ids, &reg, std::move(listeners));
}

} // namespace chorus::actors
