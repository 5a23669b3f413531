#include "actors/accounts/relationships.hpp"

#include "actors/accounts/account_page.hpp"
#include "actors/db/batcher.hpp"
#include "actors/db/pool_job.hpp"
#include "storage/pg/savepoint_batch.hpp"
#include "actors/protocol/errors.hpp"
#include "common/clock.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/pqxx>

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

caf::error exists(pqxx::connection_base& c, std::int64_t id) {
  pqxx::work tx(c);
  return pg::accounts_by_ids(tx, {id}).empty() ? make_error(errc::not_found, "Record not found") : caf::error{};
}

// One change inside the batch transaction; throws chorus::failure to fail only
// this item (the caller runs it in a savepoint).
pg::relationship_row apply_change(pqxx::transaction_base& tx, const relation_item& item) {
  const auto& ch = item.change;
  if (pg::accounts_by_ids(tx, {ch.target}).empty())
    throw failure(errc::not_found, "Record not found");
  switch (ch.verb) {
    case relation_verb::follow: {
      auto o = pg::follow(tx, item.row_id, ch.me, ch.target, ch.reblogs, ch.notify);
      if (o == pg::follow_outcome::blocked)
        throw failure(errc::forbidden, "This action is not allowed");
      if (o == pg::follow_outcome::self)
        throw failure(errc::unprocessable, "Validation failed: You cannot follow yourself");
      break;
    }
    case relation_verb::unfollow: pg::unfollow(tx, ch.me, ch.target); break;
    case relation_verb::block:
      if (ch.me == ch.target)
        throw failure(errc::unprocessable, "Validation failed: You cannot block yourself");
      pg::block(tx, item.row_id, ch.me, ch.target);
      break;
    case relation_verb::unblock: pg::unblock(tx, ch.me, ch.target); break;
    case relation_verb::mute:
      if (ch.me == ch.target)
        throw failure(errc::unprocessable, "Validation failed: You cannot mute yourself");
      pg::mute(tx, item.row_id, ch.me, ch.target, ch.mute_notifications, ch.mute_seconds);
      break;
    case relation_verb::unmute: pg::unmute(tx, ch.me, ch.target); break;
    case relation_verb::authorize:
      if (!pg::authorize_follow(tx, item.row_id, ch.me, ch.target))
        throw failure(errc::not_found, "Record not found");
      break;
    case relation_verb::reject:
      if (!pg::reject_follow(tx, ch.me, ch.target))
        throw failure(errc::not_found, "Record not found");
      break;
  }
  auto rows = pg::relationships(tx, ch.me, {ch.target});
  if (rows.empty())
    throw failure(errc::not_found, "Record not found");
  return rows.front();
}

// Group commit for relationship changes: one failing change does not fail the others.
std::vector<relation_outcome> change_batch(pqxx::connection_base& c, const std::vector<relation_item>& items) {
  return pg::savepoint_batch<relation_outcome>(c, items, [](pqxx::transaction_base& tx, const relation_item& item,
                                                        relation_outcome& o) { o.row = apply_change(tx, item); });
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
  spec.run = change_batch;
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
        if (auto err = exists(c, q.account))
          return err;
        out = account_page(c, pg::people(c, q.kind, q.account, q.page));
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
