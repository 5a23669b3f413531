#pragma once
// The one detached-worker pattern (style pattern 5). A manager actor, on the
// scheduler, queues work (bounded: actors/workers/job_queue.hpp, or its own
// coalescing queue) and hands each job to a worker spawned with caf::detached.
// The worker owns one blocking resource through a worker_core (worker_core.hpp:
// running jobs, reopening the resource after backoff with full jitter), runs one
// job at a time and reports (actors/protocol/worker.hpp)
//   (done_atom, i, job id, open?, error)  after every job, and
//   (conn_atom, i, open?)                 after each attempt to reopen the resource
//                                         and whenever a job opened or lost it.
// Reopen attempts are delayed messages to itself (reconnect_atom) on the actor
// clock; the first comes at once after spawn when the resource starts closed.
#include "actors/protocol/worker.hpp"
#include "actors/workers/worker_core.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <type_traits>

namespace chorus::actors {

template <class Resource>
struct worker_state {
  static inline const char* name = Resource::actor_name;
  worker_core<Resource> core;
  worker_sink manager;
};

template <class Resource>
using worker_handle = worker_actor<typename Resource::job_type>;

template <class Resource>
using worker_pointer = typename worker_handle<Resource>::template stateful_pointer<worker_state<Resource>>;

// The worker's behaviour. Managers spawn it with spawn_worker; tests may spawn
// it on the scheduler with a resource that does not block.
template <class Resource>
typename worker_handle<Resource>::behavior_type run_worker(worker_pointer<Resource> self, worker_sink manager,
                                                           Resource res, worker_options opts, actor_registry* reg) {
  using job_type = typename Resource::job_type;
  std::shared_ptr<actor_stats> stats;
  if (reg && !opts.kind.empty())
    stats = reg->enlist(self, opts.kind, opts.name, worker_core<Resource>::counter_names(opts));
  auto& st = self->state;
  st.core = worker_core<Resource>(std::move(res), std::move(opts), std::move(stats));
  st.manager = std::move(manager);
  if (!st.core.is_open())
    self->send(self, reconnect_atom::value);
  auto schedule_reopen = [self] {
    if (auto delay = self->state.core.next_attempt())
      self->delayed_send(self, *delay, reconnect_atom::value);
  };
  return {
    [=](std::uint64_t id, job_type& job) {
      auto& s = self->state;
      observe(self, s.core.stats());
      bool was_open = s.core.is_open();
      auto err = s.core.run(job);
      schedule_reopen();
      bool open = s.core.is_open();
      auto i = s.core.options().index;
      if (was_open != open)
        self->send(s.manager, conn_atom::value, i, open);
      self->send(s.manager, done_atom::value, i, id, open, std::move(err));
    },
    [=](reconnect_atom) {
      auto& s = self->state;
      observe(self, s.core.stats());
      if (!s.core.reopen())
        return;
      schedule_reopen();
      self->send(s.manager, conn_atom::value, s.core.options().index, s.core.is_open());
    },
  };
}

// Spawns a worker of `self` on a thread of its own, linked to it (it ends with
// its manager; one inside a blocking call ends when the call returns).
template <class Resource, class Manager>
worker_handle<Resource> spawn_worker(Manager* self, Resource res, worker_options opts, actor_registry* reg) {
  return self->template spawn<caf::detached + caf::linked>(run_worker<Resource>, worker_sink{self}, std::move(res),
                                                           std::move(opts), reg);
}

} // namespace chorus::actors
