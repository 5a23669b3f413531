#include "actors/statuses/statuses_state.hpp"

#include "actors/db/batcher.hpp"
#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"
#include "common/clock.hpp"
#include "common/text.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/conversations.hpp"
#include "storage/pg/statuses.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <set>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;

enum counter : std::size_t { c_created, c_replayed, c_reads, c_actions };

// ---- Creates: rendered and stored on a worker's connection ---------------------

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

caf::error not_found() { return make_error(errc::not_found, "Record not found"); }

// ---- Reads: each one pool job on a worker's connection -------------------------

// Loads one status for `viewer`; not_found unless visible.
caf::error load_visible(pqxx::connection_base& c, status_id id, account_id viewer, status_view& out) {
  out.bundle = pg::load_statuses(c, {id}, viewer);
  pg::keep_visible(out.bundle, viewer);
  return out.bundle.statuses.empty() ? not_found() : caf::error{};
}

caf::error load_timeline(pqxx::connection_base& c, const timeline_query& q, status_view& out) {
  std::vector<status_id> ids;
  std::vector<std::pair<std::int64_t, std::int64_t>> cursored;
  switch (q.kind) {
    case timeline_kind::public_: ids = pg::public_timeline(c, q.viewer, q.page); break;
    case timeline_kind::tag: ids = pg::tag_timeline(c, q.tag, q.viewer, q.page); break;
    case timeline_kind::account:
      ids = pg::account_statuses(c, q.account, q.viewer, q.page, q.exclude_replies, q.exclude_reblogs);
      break;
    case timeline_kind::home: ids = pg::home_timeline(c, q.viewer, q.page); break;
    case timeline_kind::direct: ids = pg::direct_timeline(c, q.viewer, q.page); break;
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
}

// Ancestors, then descendants (out.split says where they start).
caf::error load_context(pqxx::connection_base& c, const context_query& q, status_view& out) {
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
}

caf::error load_people(pqxx::connection_base& c, const people_query& q, account_list& out) {
  status_view v;
  if (auto err = load_visible(c, q.id, q.viewer, v))
    return err;
  auto pairs = q.kind == status_people::favourited_by ? pg::favourited_by(c, q.id, q.page)
                                                      : pg::reblogged_by(c, q.id, q.page);
  out = pg::load_account_page(c, pairs);
  return {};
}

template <class Item, class Result>
batch_spec<Item, Result> spec_of(const char* name, const statuses_options& opts) {
  batch_spec<Item, Result> spec;
  spec.name = name;
  spec.max_batch = opts.max_batch;
  spec.max_in_flight = opts.max_in_flight;
  spec.queue_limit = opts.queue_limit;
  spec.timeout = opts.timeout;
  return spec;
}

} // namespace

// ---- Decisions ------------------------------------------------------------------

namespace statuses_rules {

status_draft draft_of(status_create& req, status_id id) {
  status_draft d{std::move(req.fields), std::move(req.base_url)};
  d.fields.id = id;
  d.fields.account_id = req.who.account_id;
  d.fields.application_id = req.who.app_id;
  return d;
}

caf::error check_created(const model::create_result& r) {
  if (r.parent_missing)
    return make_error(errc::not_found, "the status replied to does not exist");
  return {};
}

caf::error check_outcome(const action_outcome& o) {
  if (o.code != errc::ok)
    return make_error(o.code, o.error);
  return {};
}

std::optional<feed_post> post_event(const model::status_bundle& b, std::int64_t at_ns) {
  if (b.statuses.empty())
    return std::nullopt;
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
  ev.at_ns = at_ns;
  return ev;
}

action_events events_of(const status_action& a, const action_outcome& o, std::int64_t at_ns) {
  action_events ev;
  const auto& b = o.bundle;
  if (a.verb == status_verb::remove || a.verb == status_verb::takedown) {
    if (!b.statuses.empty())
      ev.removal = feed_removal{{a.id}, b.statuses.front().account_id, a.verb == status_verb::takedown, at_ns};
    return ev;
  }
  account_id author;  // of the status acted on (the original, for reblogs)
  if (!b.statuses.empty()) {
    const auto& front = b.statuses.front();
    author = front.account_id;
    if (auto it = b.reblogged.find(front.reblog_of_id); front.reblog_of_id && it != b.reblogged.end())
      author = it->second.account_id;
  }
  if (a.verb == status_verb::reblog)
    ev.post = post_event(b, at_ns);
  if (a.verb == status_verb::unreblog && o.removed_id)
    ev.removal = feed_removal{{status_id{o.removed_id}}, a.viewer, false, at_ns};
  ev.interaction = feed_interaction{a.viewer, a.id, author, a.verb, at_ns};
  return ev;
}

} // namespace statuses_rules

// ---- State: one method per message --------------------------------------------

void statuses_state::init(statuses_options opts, pg_pool_actor pool, id_generator* ids, actor_registry* reg,
                          status_listeners listeners) {
  listeners_ = std::move(listeners);
  opts_ = opts;
  pool_ = pool;
  ids_ = ids;
  stats_ = reg->enlist(self_, "statuses", "main", {"created", "replayed", "reads", "actions"});
  auto spec = spec_of<status_draft, status_created>("statuses.create", opts);
  spec.run = create_batch;
  writer_ = spawn_batcher(self_->system(), pool, spec, *reg);
  self_->link_to(writer_);
  auto aspec = spec_of<action_item, action_outcome>("statuses.actions", opts);
  aspec.run = pg::apply_actions;
  actions_ = spawn_batcher(self_->system(), pool, aspec, *reg);
  self_->link_to(actions_);
}

caf::result<status_view> statuses_state::create(status_create& req) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<status_view>();
  auto draft = statuses_rules::draft_of(req, status_id{static_cast<std::int64_t>(ids_->next())});
  if (!opts_.batching) {
    create_one(std::move(draft), rp);
    return rp;
  }
  self_->request(writer_, opts_.timeout, std::move(draft))
    .then([this, rp](status_created& c) { created(c, rp); },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

// Without batching: its own transaction (the naive baseline of bench/).
void statuses_state::create_one(status_draft draft, promise rp) {
  auto out = std::make_shared<std::vector<status_created>>();
  db_call call{"statuses.create_one", [out, draft](pqxx::connection_base& c) { *out = create_batch(c, {draft}); }};
  pool_step(self_, pool_, opts_.timeout, std::move(call), rp, [this, out, rp] { created(out->front(), rp); });
}

void statuses_state::created(status_created& c, promise rp) {
  if (auto err = statuses_rules::check_created(c.result)) {
    rp.deliver(std::move(err));
    return;
  }
  stats_->add(c.result.replayed ? c_replayed : c_created);
  if (!c.result.replayed)
    announce_post(c.view.bundle);
  rp.deliver(std::move(c.view));
}

caf::result<status_view> statuses_state::act(const status_action& a) {
  observe(self_, *stats_);
  stats_->add(c_actions);
  auto rp = self_->make_response_promise<status_view>();
  action_item item{a, static_cast<std::int64_t>(ids_->next())};
  self_->request(actions_, opts_.timeout, std::move(item))
    .then([this, rp, a](action_outcome& o) { acted(a, o, rp); },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

void statuses_state::acted(const status_action& a, action_outcome& o, promise rp) {
  if (auto err = statuses_rules::check_outcome(o)) {
    rp.deliver(std::move(err));
    return;
  }
  announce(statuses_rules::events_of(a, o, steady_now_ns()));
  status_view v;
  v.bundle = std::move(o.bundle);
  rp.deliver(std::move(v));
}

caf::result<status_view> statuses_state::read(const status_get& q) {
  observe(self_, *stats_);
  stats_->add(c_reads);
  return pool_job<status_view>(
    self_, pool_, opts_.timeout, "statuses.get",
    [q](pqxx::connection_base& c, status_view& out) { return load_visible(c, q.id, q.viewer, out); });
}

caf::result<status_view> statuses_state::timeline(const timeline_query& q) {
  observe(self_, *stats_);
  stats_->add(c_reads);
  return pool_job<status_view>(self_, pool_, opts_.timeout, "statuses.timeline",
                               [q](pqxx::connection_base& c, status_view& out) { return load_timeline(c, q, out); });
}

caf::result<status_view> statuses_state::context(const context_query& q) {
  observe(self_, *stats_);
  stats_->add(c_reads);
  return pool_job<status_view>(self_, pool_, opts_.timeout, "statuses.context",
                               [q](pqxx::connection_base& c, status_view& out) { return load_context(c, q, out); });
}

caf::result<account_list> statuses_state::people(const people_query& q) {
  observe(self_, *stats_);
  stats_->add(c_reads);
  return pool_job<account_list>(self_, pool_, opts_.timeout, "statuses.people",
                                [q](pqxx::connection_base& c, account_list& out) { return load_people(c, q, out); });
}

// Tells feeds and trends about a status that was just committed.
void statuses_state::announce_post(const model::status_bundle& b) {
  if (auto ev = statuses_rules::post_event(b, steady_now_ns()))
    tell(*ev);
}

void statuses_state::announce(const statuses_rules::action_events& ev) {
  if (ev.post)
    tell(*ev.post);
  if (ev.removal)
    tell(*ev.removal);
  if (ev.interaction)
    tell(*ev.interaction);
}

template <class Event>
void statuses_state::tell(const Event& ev) {
  if (listeners_.trends)
    self_->send(listeners_.trends, ev);
  if (listeners_.feeds)
    self_->send(listeners_.feeds, ev);
}

// ---- Behaviour: routes each message to its state method ------------------------

namespace {

statuses_actor::behavior_type statuses_fn(statuses_ptr self, statuses_options opts, pg_pool_actor pool,
                                          id_generator* ids, actor_registry* reg, status_listeners listeners) {
  self->state.init(opts, std::move(pool), ids, reg, std::move(listeners));
  return {
    [self](status_create& x) { return self->state.create(x); },
    [self](status_get& x) { return self->state.read(x); },
    [self](status_action& x) { return self->state.act(x); },
    [self](timeline_query& x) { return self->state.timeline(x); },
    [self](context_query& x) { return self->state.context(x); },
    [self](people_query& x) { return self->state.people(x); },
  };
}

} // namespace

statuses_actor spawn_statuses(caf::actor_system& sys, statuses_options opts, pg_pool_actor pool, id_generator& ids,
                              actor_registry& reg, status_listeners listeners) {
  return sys.spawn(statuses_fn, opts, std::move(pool), &ids, &reg, std::move(listeners));
}

} // namespace chorus::actors
