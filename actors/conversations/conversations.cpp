#include "actors/conversations/conversations.hpp"

#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"
#include "storage/pg/conversations.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;

enum counter : std::size_t { c_lists, c_actions, c_jobs, c_changed, c_events };

caf::error not_found() { return make_error(errc::not_found, "Record not found"); }

// The view of `rows` for `viewer`; cursors are those of the rows read.
void fill_view(pqxx::connection_base& c, account_id viewer, std::vector<model::conversation> rows, bool drop_hidden,
               conversation_view& out) {
  if (!rows.empty()) {
    out.newest_cursor = rows.front().last_status_id.value();
    out.oldest_cursor = rows.back().last_status_id.value();
  }
  auto b = pg::hydrate_conversations(c, viewer, std::move(rows), drop_hidden);
  out.items = std::move(b.items);
  out.bundle = std::move(b.bundle);
}

// A job's change, then the events it publishes: each changed row rendered for
// its owner (nothing is loaded when there is no stream or no renderer yet).
caf::error run_job(pqxx::connection_base& c, const job_work& w, id_generator* ids, const conversation_renderer& render,
                   std::vector<user_stream_event>& events) {
  auto payload = nlohmann::json::parse(w.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("status") || !payload["status"].is_number_integer())
    return make_error(errc::unprocessable, "conversation job without a status id");
  status_id s{payload["status"].get<std::int64_t>()};
  std::vector<pg::conversation_touch> touched;
  if (w.kind == pg::conversation_add_kind)
    touched = pg::add_to_conversations(c, s, [ids] { return static_cast<std::int64_t>(ids->next()); });
  else if (w.kind == pg::conversation_remove_kind)
    touched = pg::remove_from_conversations(c, s);
  else
    return make_error(errc::unprocessable, "unknown conversation job '" + w.kind + "'");
  if (!render)
    return {};
  for (auto& t : touched) {
    auto rows = pg::conversations_by_ids(c, t.account, {t.id});
    auto b = pg::hydrate_conversations(c, t.account, std::move(rows), true);
    if (b.items.empty())
      continue;
    // No `from` (as Mastodon: conversations are filtered when read, not at delivery).
    events.push_back({t.account, {"direct"}, {"conversation", render(b.items.front(), b.bundle)}, account_id{}});
  }
  return {};
}

struct conversations_state {
  static inline const char* name = "chorus.conversations";

  using self_ptr = conversations_actor::stateful_pointer<conversations_state>;

  void init(self_ptr s, conversations_options o, pg_pool_actor p, id_generator* i, actor_registry* reg) {
    self = s;
    opts = std::move(o);
    pool = std::move(p);
    ids = i;
    stats = reg->enlist(self, "conversations", "main", {"lists", "actions", "jobs", "changed", "events"});
  }

  caf::result<conversation_view> list(const conversation_query& q) {
    observe(self, *stats);
    stats->add(c_lists);
    return pool_job<conversation_view>(self, pool, opts.timeout, "conversations.list",
                                       [q](pqxx::connection_base& c, conversation_view& out) -> caf::error {
                                         fill_view(c, q.viewer, pg::conversations_page(c, q.viewer, q.page), true, out);
                                         return {};
                                       });
  }

  caf::result<conversation_view> act(const conversation_action& a) {
    observe(self, *stats);
    stats->add(c_actions);
    return pool_job<conversation_view>(self, pool, opts.timeout, "conversations.action",
                                       [a](pqxx::connection_base& c, conversation_view& out) -> caf::error {
                                         if (a.verb == conversation_verb::remove)
                                           return pg::delete_conversation(c, a.viewer, a.id) ? caf::error{} : not_found();
                                         auto row = pg::mark_conversation_read(c, a.viewer, a.id);
                                         if (!row)
                                           return not_found();
                                         fill_view(c, a.viewer, {*row}, false, out);
                                         return {};
                                       });
  }

  caf::result<ok_atom> job(const job_work& w) {
    observe(self, *stats);
    stats->add(c_jobs);
    auto rp = self->make_response_promise<ok_atom>();
    auto events = std::make_shared<std::vector<user_stream_event>>();
    auto err = std::make_shared<caf::error>();
    conversation_renderer render = opts.streams ? renderer : conversation_renderer{};
    db_call call{"conversations.job", [w, ids = ids, render, events, err](pqxx::connection_base& c) {
                   *err = run_job(c, w, ids, render, *events);
                 }};
    self->request(pool, opts.timeout, std::move(call))
      .then(
        [this, rp, events, err](ok_atom) mutable {
          if (*err) {
            rp.deliver(*err);
            return;
          }
          stats->add(c_changed, static_cast<std::int64_t>(events->size()));
          for (auto& ev : *events) {
            self->send(opts.streams, std::move(ev));
            stats->add(c_events);
          }
          rp.deliver(ok_atom::value);
        },
        [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
    return rp;
  }

  void install(conversation_renderer_install& r) {
    observe(self, *stats);
    renderer = std::move(r.render);
  }

  self_ptr self = nullptr;
  conversations_options opts;
  pg_pool_actor pool;
  id_generator* ids = nullptr;
  std::shared_ptr<actor_stats> stats;
  conversation_renderer renderer;
};

conversations_actor::behavior_type conversations_fn(conversations_state::self_ptr self, conversations_options opts,
                                                    pg_pool_actor pool, id_generator* ids, actor_registry* reg) {
  self->state.init(self, std::move(opts), std::move(pool), ids, reg);
  return {
    [self](conversation_query& q) { return self->state.list(q); },
    [self](conversation_action& a) { return self->state.act(a); },
    [self](job_work& w) { return self->state.job(w); },
    [self](conversation_renderer_install& r) { self->state.install(r); },
  };
}

} // namespace

conversations_actor spawn_conversations(caf::actor_system& sys, conversations_options opts, pg_pool_actor pool,
                                        id_generator& ids, actor_registry& reg) {
  return sys.spawn(conversations_fn, std::move(opts), std::move(pool), &ids, &reg);
}

} // namespace chorus::actors
