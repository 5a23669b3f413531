#pragma once
// The detached-worker protocol (implementation: actors/workers/worker.hpp). A
// scheduled manager hands job `id` to its worker `i`, a detached actor owning
// one blocking resource; the worker reports the job's end and every change of
// its resource back. db_call and blocking_call (local.hpp) are two job
// types; redis_call, a job on a Redis connection, is the third.
#include "actors/protocol/atoms.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <cstdint>
#include <functional>
#include <string>

namespace chorus::storage::redis { class context; }

namespace chorus::actors {

// A worker running jobs of type Job on the resource it owns, one at a time.
template <class Job>
using worker_actor = caf::typed_actor<
  caf::reacts_to<std::uint64_t, Job>,                              // run job id
  caf::reacts_to<reconnect_atom>>;                                 // (itself, after a backoff) reopen the resource

// What every manager of workers handles: the reports of its workers.
using worker_sink = caf::typed_actor<
  caf::reacts_to<done_atom, std::uint32_t, std::uint64_t, bool, caf::error>,  // worker i finished job id; resource open?
  caf::reacts_to<conn_atom, std::uint32_t, bool>>;                 // worker i's resource opened (true) or was lost

// A unit of work on a Redis connection: `run` sends its pipeline and keeps the
// replies in state it captured. With `retry_stale`, a connection that had been
// used before and turns out dead (Redis restarted meanwhile) is reopened and
// the job run once more; never after a timeout (Redis may have run it).
struct redis_call {
  std::string name;
  std::function<void(storage::redis::context&)> run;
  bool retry_stale = false;
};

} // namespace chorus::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::redis_call)
