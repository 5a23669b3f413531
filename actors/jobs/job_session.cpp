// A job session: locked claims on a dedicated connection (see job_session.hpp).
#include "actors/jobs/job_session.hpp"

#include "actors/protocol/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/local_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <memory>

namespace chorus::actors::jobs_detail {
namespace {

namespace pg = storage::pg;

// Locked claims: a session is a dedicated connection holding one batch of
// claimed jobs locked in an open transaction (pg::locked_session) until the
// pool sends their outcomes; it then deletes the finished ones, records the
// failures and commits. A detached actor: it blocks on its own connection.
struct session_state {
  static inline const char* name = "chorus.job_session";
  std::unique_ptr<pg::locked_session> db;
};

job_session_actor::behavior_type session_fn(job_session_actor::stateful_pointer<session_state> self, std::string dsn,
                                            std::string owner, std::chrono::milliseconds idle_limit) {
  // idle_limit: idle_in_transaction_session_timeout
  self->state.db = std::make_unique<pg::locked_session>(std::move(dsn), std::move(owner), idle_limit);
  return {
    [=](lock_claim& c) -> caf::result<lock_batch> {
      auto& db = *self->state.db;
      try {
        return lock_batch{db.lock(c.queue, c.n)};
      } catch (const std::exception& e) {
        db.reset();  // rolls back: the jobs are free again
        return make_error(errc::unavailable, std::string("job session: ") + e.what());
      }
    },
    [=](lock_finish& f) -> caf::result<lock_outcome> {
      auto& db = *self->state.db;
      if (!db.open())
        return make_error(errc::internal, "job session: no batch is open");
      try {
        auto o = db.finish(f.done, f.failed);
        return lock_outcome{o.completed, std::move(o.failed)};
      } catch (const std::exception& e) {
        db.reset();
        return make_error(errc::unavailable, std::string("job session: ") + e.what());
      }
    },
  };
}

} // namespace

job_session_actor spawn_job_session(caf::local_actor* pool, std::string dsn, std::string owner,
                                    std::chrono::milliseconds idle_limit) {
  return pool->spawn<caf::detached + caf::linked>(session_fn, std::move(dsn), std::move(owner), idle_limit);
}

} // namespace chorus::actors::jobs_detail
