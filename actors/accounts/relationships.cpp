#include "actors/accounts/relationships.hpp"

#include "actors/db/batcher.hpp"
#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"
#include "common/clock.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/relationships.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;

struct rel_state {
  static inline const char* name = "chorus.relationships";
  pg_pool_actor pool;
  batcher_actor<relation_item, relation_outcome> writer;
  id_generator* ids = nullptr;
  std::chrono::milliseconds timeout{5000};
  std::shared_ptr<actor_stats> stats;
  feeds_actor feeds;  // told about committed changes (home timelines merge or revoke)
};

using self_ptr = relationships_actor::stateful_pointer<rel_state>;

template <class T, class Fn>
caf::result<T> job(self_ptr self, const char* name, Fn fn) {
  return pool_job<T>(self, self->state.pool, self->state.timeout, name, std::move(fn));
}

// Tells the feeds about a committed change that affects home timelines.
void announce(self_ptr self, const relation_change& ch, const pg::relationship_row& row) {
  auto& feeds = self->state.feeds;
  if (!feeds)
    return;
  if (ch.verb == relation_verb::follow && !row.following)
    return;  // a follow request, not a follow yet
  feed_relation ev;
  ev.me = ch.me;
  ev.target = ch.target;
  ev.verb = ch.verb;
  ev.show_reblogs = ch.verb == relation_verb::follow ? row.showing_reblogs : true;
  ev.at_ns = steady_now_ns();
  self->send(feeds, std::move(ev));
}

relationships_actor::behavior_type rel_fn(self_ptr self, pg_pool_actor pool, id_generator* ids, actor_registry* reg,
                                          std::chrono::milliseconds timeout, feeds_actor feeds) {
  self->state.pool = std::move(pool);
  self->state.feeds = std::move(feeds);
  self->state.ids = ids;
  self->state.timeout = timeout;
  self->state.stats = reg->enlist(self, "relationships", "main", {"changes", "queries"});
  batch_spec<relation_item, relation_outcome> spec;
  spec.name = "relationships.changes";
  spec.timeout = timeout;
  spec.run = pg::apply_changes;
  self->state.writer = spawn_batcher(self->system(), self->state.pool, spec, *reg);
  self->link_to(self->state.writer);
  return {
    [=](relation_change& ch) -> caf::result<pg::relationship_row> {
      auto& st = self->state;
      observe(self, *st.stats);
      st.stats->add(0);
      auto rp = self->make_response_promise<pg::relationship_row>();
      relation_item item{ch, static_cast<std::int64_t>(st.ids->next())};
      self->request(st.writer, st.timeout, std::move(item))
        .then(
          [self, rp, ch](relation_outcome& o) mutable {
            if (o.code != errc::ok)
              return rp.deliver(make_error(o.code, o.error)), void();
            announce(self, ch, o.row);  // before the reply: the client's next read sees it
            rp.deliver(o.row);
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](relations_query& q) -> caf::result<relationship_list> {
      observe(self, *self->state.stats);
      self->state.stats->add(1);
      return job<relationship_list>(self, "relationships.query", [q](pqxx::connection_base& c, relationship_list& out) {
        out.items = pg::relationships(c, q.me, q.ids);
        return caf::error{};
      });
    },
    [=](people_list_query& q) -> caf::result<account_list> {
      observe(self, *self->state.stats);
      self->state.stats->add(1);
      return job<account_list>(self, "relationships.people", [q](pqxx::connection_base& c, account_list& out) -> caf::error {
        if (!pg::account_exists(c, q.account))
          return make_error(errc::not_found, "Record not found");
        out = pg::load_account_page(c, pg::people(c, q.kind, q.account, q.page));
        return {};
      });
    },
  };
}

} // namespace

relationships_actor spawn_relationships(caf::actor_system& sys, pg_pool_actor pool, id_generator& ids,
                                        actor_registry& reg, std::chrono::milliseconds timeout, feeds_actor feeds) {
  return sys.spawn(rel_fn, std::move(pool), &ids, &reg, timeout, std::move(feeds));
}

} // namespace chorus::actors
