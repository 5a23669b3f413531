#include "actors/workers/blocking_pool.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/workers/job_queue.hpp"
#include "actors/workers/worker.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <optional>
#include <unordered_map>

namespace chorus::actors {
namespace {

// What a blocking-pool worker owns: its thread, nothing to open or lose.
struct worker_thread {
  using job_type = blocking_call;
  static inline const char* actor_name = "chorus.blocking_worker";
  bool is_open() const { return true; }
  void open() {}
  void run(blocking_call& call) { call.run(); }
};

enum counter : std::size_t { c_size, c_busy, c_queued, c_errors, c_rejected, c_expired };

struct pool_state {
  static inline const char* name = "chorus.blocking_pool";
  struct job {
    blocking_call call;
    caf::typed_response_promise<ok_atom> rp;
  };
  blocking_pool_options opts;
  std::vector<blocking_worker_actor> workers;
  std::optional<job_queue<job>> queue;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<ok_atom>> running;
  std::shared_ptr<actor_stats> stats;

  void publish() {
    stats->set(c_busy, queue->busy());
    stats->set(c_queued, static_cast<std::int64_t>(queue->queued()));
  }
};

using pool_ptr = blocking_pool_actor::stateful_pointer<pool_state>;

void dispatch(pool_ptr self) {
  auto& s = self->state;
  auto expired = [&](job_queue<pool_state::job>::entry& e) {
    e.job.rp.deliver(make_error(errc::timeout, "job '" + e.job.call.name + "' waited too long for a worker"));
    s.stats->add(c_expired);
  };
  while (auto next = s.queue->next(std::chrono::steady_clock::now(), expired)) {
    s.running.emplace(next->e.id, next->e.job.rp);
    self->send(s.workers[next->worker], next->e.id, std::move(next->e.job.call));
  }
  s.publish();
}

blocking_pool_actor::behavior_type blocking_pool(pool_ptr self, blocking_pool_options opts, actor_registry* reg) {
  auto& s = self->state;
  s.opts = std::move(opts);
  s.queue.emplace(static_cast<std::size_t>(s.opts.size), static_cast<std::size_t>(s.opts.queue_limit),
                  s.opts.queue_timeout);
  s.stats = reg->enlist(self, "blocking_pool", s.opts.name, {"size", "busy", "queued", "errors", "rejected", "expired"});
  s.stats->set(c_size, s.opts.size);
  for (std::uint32_t i = 0; i < static_cast<std::uint32_t>(s.opts.size); ++i) {
    worker_options wo;
    wo.index = i;  // no kind: not enlisted
    s.workers.push_back(spawn_worker(self, worker_thread{}, std::move(wo), reg));
    s.queue->set_open(i, true);
  }
  return {
    [=](blocking_call& call) -> caf::result<ok_atom> {
      auto& s = self->state;
      observe(self, *s.stats);
      if (s.queue->full()) {
        s.stats->add(c_rejected);
        return make_error(errc::overloaded, "blocking pool '" + s.opts.name + "' is full");
      }
      auto rp = self->make_response_promise<ok_atom>();
      s.queue->push({std::move(call), rp}, std::chrono::steady_clock::now());
      dispatch(self);
      return rp;
    },
    [=](done_atom, std::uint32_t w, std::uint64_t id, bool, caf::error& err) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.queue->finished(w, true);
      if (err)
        s.stats->add(c_errors);
      auto it = s.running.find(id);
      if (it != s.running.end()) {
        if (err)
          it->second.deliver(std::move(err));
        else
          it->second.deliver(ok_atom::value);
        s.running.erase(it);
      }
      dispatch(self);
    },
    [=](conn_atom, std::uint32_t, bool) {},  // its workers own no connection
  };
}

} // namespace

blocking_pool_actor spawn_blocking_pool(caf::actor_system& sys, blocking_pool_options opts, actor_registry& reg) {
  return sys.spawn(blocking_pool, std::move(opts), &reg);
}

} // namespace chorus::actors
