#include "actors/db/pg_pool.hpp"

#include "actors/db/pg_connection.hpp"
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

using clock = std::chrono::steady_clock;

// Counter slots of the pool's registry entry (and chorus_pg_pool_* gauges).
enum pool_counter : std::size_t { c_size, c_connected, c_busy, c_queued, c_errors, c_rejected, c_expired };
const std::vector<std::string> pool_counter_names = {"size", "connected", "busy", "queued",
                                                     "errors", "rejected", "expired"};

struct job {
  db_call call;
  caf::typed_response_promise<ok_atom> rp;
};

struct running_job {
  caf::typed_response_promise<ok_atom> rp;
  clock::time_point enqueued;
  clock::time_point started;
};

struct pool_state {
  static inline const char* name = "chorus.pg_pool";
  pg_pool_options opts;
  std::vector<pg_worker_actor> workers;
  std::optional<job_queue<job>> queue;
  std::unordered_map<std::uint64_t, running_job> running;
  pool_status status;
  std::shared_ptr<actor_stats> stats;
  metrics::histogram* job_seconds = nullptr;
  metrics::histogram* wait_seconds = nullptr;
  metrics::histogram* batch_items = nullptr;
  metrics::counter* ok_total = nullptr;
  metrics::counter* error_total = nullptr;

  void publish() {
    status.busy = queue->busy();
    status.connected = queue->open();
    status.queued = queue->queued();
    stats->set(c_size, status.size);
    stats->set(c_connected, status.connected);
    stats->set(c_busy, status.busy);
    stats->set(c_queued, static_cast<std::int64_t>(status.queued));
    stats->set(c_errors, static_cast<std::int64_t>(status.errors));
    stats->set(c_rejected, static_cast<std::int64_t>(status.rejected));
    stats->set(c_expired, static_cast<std::int64_t>(status.expired));
  }
};

using pool_ptr = pg_pool_actor::stateful_pointer<pool_state>;

void dispatch(pool_ptr self) {
  auto& s = self->state;
  auto now = clock::now();
  auto expired = [&](job_queue<job>::entry& e) {
    e.job.rp.deliver(make_error(errc::timeout, "postgres job '" + e.job.call.name + "' waited too long for a connection"));
    ++s.status.expired;
  };
  while (auto next = s.queue->next(now, expired)) {
    auto& e = next->e;
    if (s.wait_seconds)
      s.wait_seconds->observe(std::chrono::duration<double>(now - e.enqueued).count());
    if (s.batch_items)
      s.batch_items->observe(e.job.call.items);
    s.status.items += e.job.call.items;
    s.running.emplace(e.id, running_job{e.job.rp, e.enqueued, now});
    self->send(s.workers[next->worker], e.id, std::move(e.job.call));
    self->delayed_send(self, s.opts.job_timeout, expire_atom::value, e.id);
  }
  s.publish();
}

pg_pool_actor::behavior_type pg_pool(pool_ptr self, pg_pool_options opts, actor_registry* reg,
                                     metrics::registry* metrics) {
  auto& s = self->state;
  s.opts = std::move(opts);
  s.status.size = s.opts.size;
  s.queue.emplace(static_cast<std::size_t>(s.opts.size), static_cast<std::size_t>(s.opts.queue_limit),
                  s.opts.queue_timeout);
  s.stats = reg->enlist(self, "pg_pool", s.opts.name, pool_counter_names);
  if (metrics) {
    s.job_seconds = &metrics->get_histogram("chorus_pg_job_seconds",
                                            "Postgres job latency from enqueue to completion");
    s.wait_seconds = &metrics->get_histogram("chorus_pg_queue_wait_seconds",
                                             "Time Postgres jobs waited for a connection");
    s.batch_items = &metrics->get_histogram("chorus_pg_batch_items", "Logical requests per Postgres job",
                                            {}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
    s.ok_total = &metrics->get_counter("chorus_pg_jobs_total", "Postgres jobs by outcome", {{"outcome", "ok"}});
    s.error_total = &metrics->get_counter("chorus_pg_jobs_total", "Postgres jobs by outcome", {{"outcome", "error"}});
    export_stats(*metrics, "chorus_pg_pool", "Postgres pool", s.opts.name, s.stats,
                 {"errors", "rejected", "expired"});
  }
  for (int i = 0; i < s.opts.size; ++i) {
    worker_options wo;
    wo.index = static_cast<std::uint32_t>(i);
    wo.kind = "pg_worker";
    wo.name = std::to_string(i);
    wo.resource = "postgres";
    wo.reconnect = s.opts.reconnect;
    s.workers.push_back(spawn_worker(self, pg_connection{s.opts.connection}, std::move(wo), reg));
  }
  s.publish();
  return {
    [=](db_call& call) -> caf::result<ok_atom> {
      auto& s = self->state;
      observe(self, *s.stats);
      if (s.queue->full()) {
        ++s.status.rejected;
        s.publish();
        return make_error(errc::overloaded, "postgres queue is full");
      }
      auto rp = self->make_response_promise<ok_atom>();
      s.queue->push(job{std::move(call), rp}, clock::now());
      dispatch(self);
      return rp;
    },
    [=](stats_atom) -> pool_status {
      auto& s = self->state;
      observe(self, *s.stats);
      s.publish();
      return s.status;
    },
    [=](done_atom, std::uint32_t w, std::uint64_t id, bool conn_ok, caf::error& err) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.queue->finished(w, conn_ok);
      ++s.status.processed;
      if (err) {
        ++s.status.errors;
        if (s.error_total) s.error_total->inc();
      } else if (s.ok_total) {
        s.ok_total->inc();
      }
      auto it = s.running.find(id);
      if (it != s.running.end()) {
        if (s.job_seconds)
          s.job_seconds->observe(std::chrono::duration<double>(clock::now() - it->second.enqueued).count());
        if (err)
          it->second.rp.deliver(std::move(err));
        else
          it->second.rp.deliver(ok_atom::value);
        s.running.erase(it);
      }
      dispatch(self);
    },
    [=](conn_atom, std::uint32_t w, bool up) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.queue->set_open(w, up);
      dispatch(self);
    },
    [=](expire_atom, std::uint64_t id) {
      auto& s = self->state;
      observe(self, *s.stats);
      auto it = s.running.find(id);
      if (it == s.running.end())
        return;
      ++s.status.expired;
      it->second.rp.deliver(make_error(errc::timeout, "postgres job exceeded its deadline"));
      s.running.erase(it);
      s.publish();
    },
  };
}

} // namespace

pg_pool_actor spawn_pg_pool(caf::actor_system& sys, pg_pool_options opts, actor_registry& reg,
                            metrics::registry* metrics) {
  return sys.spawn(pg_pool, std::move(opts), &reg, metrics);
}

} // namespace chorus::actors
