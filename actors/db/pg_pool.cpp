#include "actors/db/pg_pool.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <deque>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <unordered_map>

namespace chorus::actors {
namespace {

using clock = std::chrono::steady_clock;

// Counter slots of the pool's registry entry (and chorus_pg_pool_* gauges).
enum pool_counter : std::size_t { c_size, c_connected, c_busy, c_queued, c_errors, c_rejected, c_expired };
const std::vector<std::string> pool_counter_names = {"size", "connected", "busy", "queued",
                                                     "errors", "rejected", "expired"};

// ---------------------------------------------------------------- worker

struct worker_state {
  static inline const char* name = "chorus.pg_worker";
  storage::pg::connect_options opts;
  std::unique_ptr<pqxx::connection> conn;
  pg_pool_actor manager;
  std::uint32_t index = 0;
  std::chrono::milliseconds backoff{100};
  std::chrono::milliseconds backoff_max{5000};
  bool reconnect_pending = false;
  bool logged_down = false;
  std::shared_ptr<actor_stats> stats;

  bool open() const { return conn && conn->is_open(); }
};

pg_worker_actor::behavior_type pg_worker(pg_worker_actor::stateful_pointer<worker_state> self,
                                         pg_pool_actor manager, std::uint32_t index,
                                         storage::pg::connect_options opts,
                                         std::chrono::milliseconds backoff_max,
                                         actor_registry* reg) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.manager = manager;
  st.index = index;
  st.backoff_max = backoff_max;
  st.stats = reg->enlist(self, "pg_worker", std::to_string(index), {"connected", "jobs", "errors"});

  // Tries to open the connection; on failure schedules the next attempt.
  auto try_connect = [self] {
    auto& s = self->state;
    try {
      s.conn = storage::pg::connect(s.opts);
      s.backoff = std::chrono::milliseconds(100);
      if (s.logged_down)
        log::write(log::level::info, "postgres connection restored", {{"worker", s.index}});
      s.logged_down = false;
    } catch (const std::exception& e) {
      s.conn.reset();
      if (!s.logged_down)
        log::write(log::level::warn, "postgres connection failed",
                   {{"worker", s.index}, {"error", e.what()}});
      s.logged_down = true;
    }
    s.stats->set(0, s.open() ? 1 : 0);
  };
  auto schedule_reconnect = [self] {
    auto& s = self->state;
    if (s.reconnect_pending)
      return;
    s.reconnect_pending = true;
    self->delayed_send(self, s.backoff, reconnect_atom::value);
    s.backoff = std::min(s.backoff * 2, s.backoff_max);
  };

  self->send(self, reconnect_atom::value);
  return {
    [=](std::uint64_t id, db_call& call) {
      auto& s = self->state;
      observe(self, *s.stats);
      caf::error err;
      bool was_open = s.open();
      try {
        if (!s.open())
          s.conn = storage::pg::connect(s.opts);
        call.run(*s.conn);
      } catch (...) {
        auto ep = std::current_exception();
        if (storage::pg::is_connection_loss(ep) || !s.open()) {
          s.conn.reset();
          schedule_reconnect();
        }
        try {
          storage::pg::rethrow_translated(ep);
        } catch (...) {
          err = current_exception_error();
        }
        s.stats->add(2);
      }
      s.stats->add(1);
      s.stats->set(0, s.open() ? 1 : 0);
      if (was_open != s.open())
        self->send(s.manager, conn_atom::value, s.index, s.open());
      self->send(s.manager, done_atom::value, s.index, id, s.open(), std::move(err));
    },
    [=](reconnect_atom) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.reconnect_pending = false;
      if (s.open())
        return;
      try_connect();
      self->send(s.manager, conn_atom::value, s.index, s.open());
      if (!s.open())
        schedule_reconnect();
    },
  };
}

// ---------------------------------------------------------------- manager

struct job {
  std::uint64_t id;
  db_call call;
  caf::typed_response_promise<ok_atom> rp;
  clock::time_point enqueued;
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
  std::vector<bool> busy;
  std::vector<bool> connected;
  std::deque<job> queue;
  std::unordered_map<std::uint64_t, running_job> running;
  std::uint64_t next_id = 1;
  pool_status status;
  std::shared_ptr<actor_stats> stats;
  metrics::histogram* job_seconds = nullptr;
  metrics::histogram* wait_seconds = nullptr;
  metrics::histogram* batch_items = nullptr;
  metrics::counter* ok_total = nullptr;
  metrics::counter* error_total = nullptr;

  void publish() {
    status.busy = 0;
    status.connected = 0;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      status.busy += busy[i] ? 1 : 0;
      status.connected += connected[i] ? 1 : 0;
    }
    status.queued = queue.size();
    stats->set(c_size, status.size);
    stats->set(c_connected, status.connected);
    stats->set(c_busy, status.busy);
    stats->set(c_queued, static_cast<std::int64_t>(status.queued));
    stats->set(c_errors, static_cast<std::int64_t>(status.errors));
    stats->set(c_rejected, static_cast<std::int64_t>(status.rejected));
    stats->set(c_expired, static_cast<std::int64_t>(status.expired));
  }

  // Picks an idle worker, preferring connected ones; -1 if all are busy.
  int idle_worker() const {
    int fallback = -1;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (busy[i])
        continue;
      if (connected[i])
        return static_cast<int>(i);
      if (fallback < 0)
        fallback = static_cast<int>(i);
    }
    return fallback;
  }
};

using pool_ptr = pg_pool_actor::stateful_pointer<pool_state>;

void dispatch(pool_ptr self) {
  auto& s = self->state;
  auto now = clock::now();
  while (!s.queue.empty()) {
    auto& front = s.queue.front();
    if (now - front.enqueued > s.opts.queue_timeout) {
      front.rp.deliver(make_error(errc::timeout, "postgres job '" + front.call.name +
                                                      "' waited too long for a connection"));
      ++s.status.expired;
      s.queue.pop_front();
      continue;
    }
    int w = s.idle_worker();
    if (w < 0)
      break;
    auto j = std::move(s.queue.front());
    s.queue.pop_front();
    s.busy[w] = true;
    if (s.wait_seconds)
      s.wait_seconds->observe(std::chrono::duration<double>(now - j.enqueued).count());
    if (s.batch_items)
      s.batch_items->observe(j.call.items);
    s.status.items += j.call.items;
    s.running.emplace(j.id, running_job{j.rp, j.enqueued, now});
    self->send(s.workers[w], j.id, std::move(j.call));
    self->delayed_send(self, s.opts.job_timeout, expire_atom::value, j.id);
  }
  s.publish();
}

pg_pool_actor::behavior_type pg_pool(pool_ptr self, pg_pool_options opts, actor_registry* reg,
                                     metrics::registry* metrics) {
  auto& s = self->state;
  s.opts = std::move(opts);
  s.status.size = s.opts.size;
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
    auto w = self->spawn<caf::detached + caf::linked>(pg_worker, pg_pool_actor{self},
                                                      static_cast<std::uint32_t>(i),
                                                      s.opts.connection, s.opts.reconnect_max, reg);
    s.workers.push_back(w);
    s.busy.push_back(false);
    s.connected.push_back(false);
  }
  s.publish();
  return {
    [=](db_call& call) -> caf::result<ok_atom> {
      auto& s = self->state;
      observe(self, *s.stats);
      if (s.queue.size() >= static_cast<std::size_t>(s.opts.queue_limit)) {
        ++s.status.rejected;
        s.publish();
        return make_error(errc::overloaded, "postgres queue is full");
      }
      auto rp = self->make_response_promise<ok_atom>();
      s.queue.push_back(job{s.next_id++, std::move(call), rp, clock::now()});
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
      s.busy[w] = false;
      s.connected[w] = conn_ok;
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
      s.connected[w] = up;
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
