#include "actors/workers/blocking_pool.hpp"

#include "actors/protocol/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <deque>
#include <unordered_map>

namespace chorus::actors {
namespace {

struct worker_state {
  static inline const char* name = "chorus.blocking_worker";
};

blocking_worker_actor::behavior_type blocking_worker(blocking_worker_actor::stateful_pointer<worker_state> self,
                                                     blocking_pool_actor manager, std::uint32_t index) {
  return {
    [=](std::uint64_t id, blocking_call& call) {
      caf::error err;
      try {
        call.run();
      } catch (...) {
        err = current_exception_error();
      }
      self->send(manager, done_atom::value, index, id, false, std::move(err));
    },
  };
}

enum counter : std::size_t { c_size, c_busy, c_queued, c_errors, c_rejected, c_expired };

struct pool_state {
  static inline const char* name = "chorus.blocking_pool";
  struct job {
    std::uint64_t id;
    blocking_call call;
    caf::typed_response_promise<ok_atom> rp;
    std::chrono::steady_clock::time_point enqueued;
  };
  blocking_pool_options opts;
  std::vector<blocking_worker_actor> workers;
  std::vector<bool> busy;
  std::deque<job> queue;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<ok_atom>> running;
  std::uint64_t next_id = 1;
  std::shared_ptr<actor_stats> stats;

  void publish() {
    std::int64_t b = 0;
    for (bool x : busy)
      b += x ? 1 : 0;
    stats->set(c_busy, b);
    stats->set(c_queued, static_cast<std::int64_t>(queue.size()));
  }
};

using pool_ptr = blocking_pool_actor::stateful_pointer<pool_state>;

void dispatch(pool_ptr self) {
  auto& s = self->state;
  auto now = std::chrono::steady_clock::now();
  while (!s.queue.empty() && now - s.queue.front().enqueued > s.opts.queue_timeout) {
    s.queue.front().rp.deliver(make_error(errc::timeout, "job '" + s.queue.front().call.name +
                                                           "' waited too long for a worker"));
    s.queue.pop_front();
    s.stats->add(c_expired);
  }
  for (std::size_t w = 0; w < s.workers.size() && !s.queue.empty(); ++w) {
    if (s.busy[w])
      continue;
    auto j = std::move(s.queue.front());
    s.queue.pop_front();
    s.busy[w] = true;
    s.running.emplace(j.id, j.rp);
    self->send(s.workers[w], j.id, std::move(j.call));
  }
  s.publish();
}

blocking_pool_actor::behavior_type blocking_pool(pool_ptr self, blocking_pool_options opts, actor_registry* reg) {
  auto& s = self->state;
  s.opts = std::move(opts);
  s.stats = reg->enlist(self, "blocking_pool", s.opts.name, {"size", "busy", "queued", "errors", "rejected", "expired"});
  s.stats->set(c_size, s.opts.size);
  for (int i = 0; i < s.opts.size; ++i) {
    s.workers.push_back(
      self->spawn<caf::detached + caf::linked>(blocking_worker, blocking_pool_actor{self}, static_cast<std::uint32_t>(i)));
    s.busy.push_back(false);
  }
  return {
    [=](blocking_call& call) -> caf::result<ok_atom> {
      auto& s = self->state;
      observe(self, *s.stats);
      if (s.queue.size() >= static_cast<std::size_t>(s.opts.queue_limit)) {
        s.stats->add(c_rejected);
        return make_error(errc::overloaded, "blocking pool '" + s.opts.name + "' is full");
      }
      auto rp = self->make_response_promise<ok_atom>();
      s.queue.push_back({s.next_id++, std::move(call), rp, std::chrono::steady_clock::now()});
      dispatch(self);
      return rp;
    },
    [=](done_atom, std::uint32_t w, std::uint64_t id, bool, caf::error& err) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.busy[w] = false;
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
  };
}

} // namespace

blocking_pool_actor spawn_blocking_pool(caf::actor_system& sys, blocking_pool_options opts, actor_registry& reg) {
  return sys.spawn(blocking_pool, std::move(opts), &reg);
}

} // namespace chorus::actors
