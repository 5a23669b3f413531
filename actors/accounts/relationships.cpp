#include "actors/accounts/relationships.hpp"

#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"

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
  id_generator* ids = nullptr;
  std::chrono::milliseconds timeout{5000};
  std::shared_ptr<actor_stats> stats;
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

relationships_actor::behavior_type rel_fn(self_ptr self, pg_pool_actor pool, id_generator* ids, actor_registry* reg,
                                          std::chrono::milliseconds timeout) {
  self->state.pool = std::move(pool);
  self->state.ids = ids;
  self->state.timeout = timeout;
  self->state.stats = reg->enlist(self, "relationships", "main", {"changes", "queries"});
  return {
    [=](relation_change& ch) -> caf::result<pg::relationship_row> {
      observe(self, *self->state.stats);
      self->state.stats->add(0);
      auto row_id = static_cast<std::int64_t>(self->state.ids->next());
      return job<pg::relationship_row>(self, "relationships.change",
                                       [ch, row_id](pqxx::connection_base& c, pg::relationship_row& out) -> caf::error {
        if (auto err = exists(c, ch.target))
          return err;
        switch (ch.verb) {
          case relation_verb::follow: {
            auto o = pg::follow(c, row_id, ch.me, ch.target, ch.reblogs, ch.notify);
            if (o == pg::follow_outcome::blocked)
              return make_error(errc::forbidden, "This action is not allowed");
            if (o == pg::follow_outcome::self)
              return make_error(errc::unprocessable, "Validation failed: You cannot follow yourself");
            break;
          }
          case relation_verb::unfollow: pg::unfollow(c, ch.me, ch.target); break;
          case relation_verb::block:
            if (ch.me == ch.target)
              return make_error(errc::unprocessable, "Validation failed: You cannot block yourself");
            pg::block(c, row_id, ch.me, ch.target);
            break;
          case relation_verb::unblock: pg::unblock(c, ch.me, ch.target); break;
          case relation_verb::mute:
            if (ch.me == ch.target)
              return make_error(errc::unprocessable, "Validation failed: You cannot mute yourself");
            pg::mute(c, row_id, ch.me, ch.target, ch.mute_notifications, ch.mute_seconds);
            break;
          case relation_verb::unmute: pg::unmute(c, ch.me, ch.target); break;
          case relation_verb::authorize:
            if (!pg::authorize_follow(c, row_id, ch.me, ch.target))
              return make_error(errc::not_found, "Record not found");
            break;
          case relation_verb::reject:
            if (!pg::reject_follow(c, ch.me, ch.target))
              return make_error(errc::not_found, "Record not found");
            break;
        }
        auto rows = pg::relationships(c, ch.me, {ch.target});
        if (rows.empty())
          return make_error(errc::not_found, "Record not found");
        out = rows.front();
        return {};
      });
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
        auto pairs = pg::people(c, q.kind, q.account, q.page);
        std::vector<std::int64_t> ids;
        for (auto& [cursor, id] : pairs)
          ids.push_back(id);
        pqxx::work tx(c);
        out.accounts = pg::accounts_by_ids(tx, ids);
        if (!pairs.empty()) {
          out.newest_cursor = pairs.front().first;
          out.oldest_cursor = pairs.back().first;
        }
        return {};
      });
    },
  };
}

} // namespace

relationships_actor spawn_relationships(caf::actor_system& sys, pg_pool_actor pool, id_generator& ids,
                                        actor_registry& reg, std::chrono::milliseconds timeout) {
  return sys.spawn(rel_fn, std::move(pool), &ids, &reg, timeout);
}

} // namespace chorus::actors
