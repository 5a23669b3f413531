#include "actors/jobs/worker_pool.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/jobs.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <deque>
#include <random>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;
using clock_type = std::chrono::steady_clock;

enum counter : std::size_t { c_in_flight, c_claimed, c_completed, c_failed, c_dead, c_claims };

struct pool_state {
  static inline const char* name = "chorus.job_pool";
  worker_pool_options opts;
  pg_pool_actor pool;
  std::size_t in_flight = 0;
  std::deque<std::pair<job_work, clock_type::time_point>> local;  // claimed, not started (prefetch)
  std::uint64_t expired_locally = 0;
  int claims_in_flight = 0;   // at most 2: the next batch is fetched while the last one runs
  std::size_t requested = 0;  // jobs asked for by the claims in flight
  bool more = true;  // jobs may be waiting (a wake, or the last claim came back full)
  std::uint64_t wakes = 0;  // wake-ups so far: one that arrives while a claim runs must not be lost
  std::vector<std::int64_t> done;
  std::vector<pg::job_failure> failed;
  bool flushing = false;
  std::mt19937_64 rng{std::random_device{}()};
  job_pool_stats counts;
  std::shared_ptr<actor_stats> stats;
  metrics::counter* ok = nullptr;
  metrics::counter* retried = nullptr;
  metrics::counter* died = nullptr;
  metrics::histogram* duration = nullptr;
  metrics::gauge* depth = nullptr;
  metrics::gauge* oldest = nullptr;

  void publish() {
    counts.in_flight = static_cast<std::int64_t>(in_flight);
    stats->set(c_in_flight, counts.in_flight);
  }
};

using pool_ptr = job_pool_actor::stateful_pointer<pool_state>;

void claim(pool_ptr self);
void dispatch(pool_ptr self);

// Completions and failures go out together, one pool job per batch: whatever
// finished while the previous batch was being written.
void flush(pool_ptr self) {
  auto& s = self->state;
  if (s.flushing || (s.done.empty() && s.failed.empty()))
    return;
  s.flushing = true;
  auto done = std::move(s.done);
  auto failed = std::move(s.failed);
  s.done.clear();
  s.failed.clear();
  auto owner = s.opts.owner;
  auto outcomes = std::make_shared<std::vector<pg::failed_job>>();
  auto n = static_cast<std::uint32_t>(done.size() + failed.size());
  self->request(s.pool, s.opts.timeout,
                db_call{"jobs.finish",
                        [=](pqxx::connection_base& c) {
                          pg::complete_jobs(c, done, owner);
                          *outcomes = pg::fail_jobs(c, failed, owner);
                        },
                        n})
    .then(
      [self, outcomes, completed = done.size()](ok_atom) {
        auto& s = self->state;
        s.flushing = false;
        s.counts.completed += completed;
        s.stats->add(c_completed, static_cast<std::int64_t>(completed));
        if (s.ok)
          s.ok->inc(completed);
        for (auto& o : *outcomes) {
          ++(o.dead ? s.counts.dead : s.counts.failed);
          s.stats->add(o.dead ? c_dead : c_failed);
          if (auto* m = o.dead ? s.died : s.retried)
            m->inc();
          if (o.dead)
            log::write(log::level::warn, "job is dead (out of attempts)", {{"queue", s.opts.queue}, {"id", o.id}});
        }
        flush(self);
      },
      [self, done, failed](caf::error& err) {
        // Not written: the leases expire and the jobs run again (at least once).
        auto& s = self->state;
        s.flushing = false;
        log::write(log::level::error, "jobs: could not record finished jobs; they will run again after their lease",
                   {{"queue", s.opts.queue}, {"jobs", done.size() + failed.size()}, {"error", description_of(err)}});
        flush(self);
      });
}

void finished(pool_ptr self, clock_type::time_point started) {
  auto& s = self->state;
  --s.in_flight;
  if (s.duration)
    s.duration->observe(std::chrono::duration<double>(clock_type::now() - started).count());
  s.publish();
  dispatch(self);
  flush(self);
  claim(self);
}

void fail(pool_state& s, const job_work& w, std::string error) {
  auto delay = backoff_delay(s.opts.backoff, w.attempt, s.rng);
  s.failed.push_back({w.id, std::move(error), std::chrono::duration<double>(delay).count()});
}

void run(pool_ptr self, job_work w) {
  auto& s = self->state;
  auto it = s.opts.kinds.find(w.kind);
  if (it == s.opts.kinds.end()) {
    fail(s, w, "no handler for job kind '" + w.kind + "'");
    return flush(self);
  }
  ++s.in_flight;
  auto started = clock_type::now();
  self->request(it->second.handler, it->second.timeout, w)
    .then(
      [self, id = w.id, started](ok_atom) {
        self->state.done.push_back(id);
        finished(self, started);
      },
      [self, w, started](caf::error& err) {
        fail(self->state, w, description_of(err).empty() ? caf::to_string(err) : description_of(err));
        finished(self, started);
      });
}

// Starts claimed jobs while slots are free.
void dispatch(pool_ptr self) {
  auto& s = self->state;
  auto now = clock_type::now();
  while (s.in_flight < s.opts.concurrency && !s.local.empty()) {
    auto [w, claimed] = std::move(s.local.front());
    s.local.pop_front();
    if (now - claimed > s.opts.lease / 2) {
      // Too close to its lease expiry to start here: the sweep requeues it.
      if (s.expired_locally++ % 1000 == 0)
        log::write(log::level::warn, "jobs: prefetched jobs waited half their lease; leaving them to the reclaim sweep",
                   {{"queue", s.opts.queue}, {"so_far", s.expired_locally}});
      continue;
    }
    run(self, std::move(w));
  }
}

// Claims, in one statement, as many jobs as there are free slots plus room in
// the local queue, when jobs may be waiting. With a local queue, it waits until
// the queue is half empty, so that claims come in batches.
void claim(pool_ptr self) {
  auto& s = self->state;
  auto capacity = s.opts.concurrency + s.opts.prefetch;
  auto held = s.in_flight + s.local.size() + s.requested;
  // Without a local queue, one claim at a time, for the free slots.
  int max_claims = s.opts.prefetch > 0 ? 2 : 1;
  if (s.claims_in_flight >= max_claims || !s.more || held >= capacity ||
      (s.opts.prefetch > 0 && s.local.size() + s.requested > s.opts.prefetch / 2))
    return;
  auto n = static_cast<int>(capacity - held);
  if (s.opts.prefetch > 0)
    n = std::min<int>(n, static_cast<int>(std::max<std::size_t>(1, s.opts.prefetch / 2)));
  ++s.claims_in_flight;
  s.requested += static_cast<std::size_t>(n);
  auto rows = std::make_shared<std::vector<pg::job_row>>();
  auto queue = s.opts.queue;
  auto owner = s.opts.owner;
  auto lease = std::chrono::duration<double>(s.opts.lease).count();
  ++s.counts.claims;
  s.stats->add(c_claims);
  auto wakes = s.wakes;
  self->request(s.pool, s.opts.timeout,
                db_call{"jobs.claim", [=](pqxx::connection_base& c) { *rows = pg::claim_jobs(c, queue, n, owner, lease); }})
    .then(
      [self, rows, n, wakes](ok_atom) {
        auto& s = self->state;
        --s.claims_in_flight;
        s.requested -= static_cast<std::size_t>(n);
        // A short batch means drained for now, unless a wake came in meanwhile
        // (its jobs may have committed after this claim's snapshot).
        s.more = static_cast<int>(rows->size()) == n || s.wakes != wakes;
        s.counts.claimed += rows->size();
        s.stats->add(c_claimed, static_cast<std::int64_t>(rows->size()));
        auto now = clock_type::now();
        for (auto& r : *rows)
          s.local.emplace_back(job_work{r.id, r.queue, r.kind, std::move(r.payload), r.attempts}, now);
        dispatch(self);
        s.publish();
        claim(self);
      },
      [self, n](caf::error& err) {
        auto& s = self->state;
        --s.claims_in_flight;  // the next tick tries again
        s.requested -= static_cast<std::size_t>(n);
        log::write(log::level::warn, "jobs: claim failed", {{"queue", s.opts.queue}, {"error", description_of(err)}});
      });
}

void on_tick(pool_ptr self) {
  auto& s = self->state;
  ++s.wakes;
  s.more = true;  // the safety net: a NOTIFY may have been missed (listener reconnecting)
  claim(self);
  auto depths = std::make_shared<std::vector<pg::queue_depth>>();
  auto reclaimed = std::make_shared<std::vector<std::int64_t>>();
  self->request(s.pool, s.opts.timeout, db_call{"jobs.sweep", [=](pqxx::connection_base& c) {
                                                  *reclaimed = pg::reclaim_expired(c);
                                                  *depths = pg::queue_depths(c);
                                                }})
    .then(
      [self, depths, reclaimed](ok_atom) {
        auto& s = self->state;
        if (!reclaimed->empty())
          log::write(log::level::warn, "jobs: reclaimed jobs whose lease expired",
                     {{"queue", s.opts.queue}, {"jobs", reclaimed->size()}});
        for (auto& d : *depths)
          if (d.queue == s.opts.queue && s.depth) {
            s.depth->set(d.queued);
            s.oldest->set(static_cast<std::int64_t>(d.oldest_runnable_s));
          }
      },
      [](caf::error&) {});
  self->delayed_send(self, s.opts.poll, tick_atom::value);
}

job_pool_actor::behavior_type pool_fn(pool_ptr self, worker_pool_options opts, pg_pool_actor pool,
                                      actor_registry* reg, metrics::registry* metrics) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.pool = std::move(pool);
  st.counts.queue = st.opts.queue;
  st.stats = reg->enlist(self, "job_pool", st.opts.queue,
                         {"in_flight", "claimed", "completed", "failed", "dead", "claims"});
  if (metrics) {
    auto q = st.opts.queue;
    const char* help = "Job attempts finished, by outcome";
    st.ok = &metrics->get_counter("chorus_jobs_processed_total", help, {{"queue", q}, {"outcome", "ok"}});
    st.retried = &metrics->get_counter("chorus_jobs_processed_total", help, {{"queue", q}, {"outcome", "failed"}});
    st.died = &metrics->get_counter("chorus_jobs_processed_total", help, {{"queue", q}, {"outcome", "dead"}});
    st.duration = &metrics->get_histogram("chorus_job_duration_seconds", "Job attempt run time", {{"queue", q}});
    st.depth = &metrics->get_gauge("chorus_queue_depth", "Queued jobs (runnable or waiting to retry)", {{"queue", q}});
    st.oldest = &metrics->get_gauge("chorus_oldest_job_age_seconds", "Age of the oldest runnable job", {{"queue", q}});
  }
  self->send(self, tick_atom::value);
  return {
    [=](job_wake&) {
      observe(self, *self->state.stats);
      ++self->state.wakes;
      self->state.more = true;
      claim(self);
    },
    [=](tick_atom) { on_tick(self); },
    [=](stats_atom) -> job_pool_stats {
      self->state.publish();
      return self->state.counts;
    },
  };
}

// The NOTIFY listener: a detached actor that blocks at most 200 ms per turn in
// await_notification, so it still handles its mailbox (and exit) between turns.
struct listener_state {
  static inline const char* name = "chorus.job_listener";
  std::string dsn;
  std::map<std::string, job_pool_actor> pools;
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<pqxx::notification_receiver> receiver;
  std::chrono::milliseconds backoff{100};
  std::shared_ptr<actor_stats> stats;
};

struct wake_receiver : pqxx::notification_receiver {
  wake_receiver(pqxx::connection_base& c, caf::event_based_actor* self, const std::map<std::string, job_pool_actor>& pools)
    : pqxx::notification_receiver(c, "chorus_jobs"), self_(self), pools_(pools) {}
  void operator()(const std::string& queue, int) override {
    if (auto it = pools_.find(queue); it != pools_.end())
      self_->send(it->second, job_wake{queue});
  }
  caf::event_based_actor* self_;
  const std::map<std::string, job_pool_actor>& pools_;
};

caf::behavior listener_fn(caf::stateful_actor<listener_state>* self, std::string dsn,
                          std::map<std::string, job_pool_actor> pools, actor_registry* reg) {
  self->state.dsn = std::move(dsn);
  self->state.pools = std::move(pools);
  self->state.stats = reg->enlist(self, "job_listener", "chorus_jobs", {"connected", "notifications"});
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      auto& s = self->state;
      try {
        if (!s.conn) {
          s.conn = pg::connect({s.dsn, 3, 0, "chorusd-jobs-listener"});
          s.receiver = std::make_unique<wake_receiver>(*s.conn, self, s.pools);
          s.stats->set(0, 1);
          s.backoff = std::chrono::milliseconds(100);
          for (auto& [queue, pool] : s.pools)  // anything enqueued while we were not listening
            self->send(pool, job_wake{queue});
        }
        auto n = s.conn->await_notification(0, 200'000);
        s.stats->add(1, n);
        self->send(self, tick_atom::value);
      } catch (const std::exception& e) {
        s.receiver.reset();
        s.conn.reset();
        s.stats->set(0, 0);
        log::write(log::level::warn, "jobs: notification listener lost its connection",
                   {{"error", e.what()}, {"retry_ms", s.backoff.count()}});
        self->delayed_send(self, s.backoff, tick_atom::value);
        s.backoff = std::min(s.backoff * 2, std::chrono::milliseconds(5'000));
      }
    },
  };
}

struct scheduler_state {
  static inline const char* name = "chorus.job_scheduler";
  scheduler_options opts;
  pg_pool_actor pool;
  std::map<std::string, std::int64_t> last_slot;
  std::shared_ptr<actor_stats> stats;
};

caf::behavior scheduler_fn(caf::stateful_actor<scheduler_state>* self, scheduler_options opts, pg_pool_actor pool,
                           actor_registry* reg) {
  self->state.opts = std::move(opts);
  self->state.pool = std::move(pool);
  self->state.stats = reg->enlist(self, "job_scheduler", "main", {"enqueued", "taken_elsewhere", "errors"});
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      auto& s = self->state;
      auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
      for (auto& sc : s.opts.schedules) {
        auto slot = now_ms / std::max<std::int64_t>(1, sc.period.count());
        if (s.last_slot[sc.name] >= slot)
          continue;
        s.last_slot[sc.name] = slot;
        auto id = std::make_shared<std::int64_t>(0);
        self->request(s.pool, s.opts.timeout,
                      db_call{"jobs.schedule", [=, name = sc.name, job = sc.job](pqxx::connection_base& c) {
                                *id = pg::schedule_slot(c, name, slot, job);
                              }})
          .then([self, id](ok_atom) { self->state.stats->add(*id ? 0 : 1); },
                [self, name = sc.name, slot](caf::error& err) {
                  self->state.stats->add(2);
                  self->state.last_slot[name] = slot - 1;  // try this slot again at the next tick
                  log::write(log::level::warn, "jobs: scheduling failed", {{"schedule", name}, {"error", description_of(err)}});
                });
      }
      self->delayed_send(self, s.opts.tick, tick_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_job_scheduler(caf::actor_system& sys, scheduler_options opts, pg_pool_actor pool, actor_registry& reg) {
  return sys.spawn(scheduler_fn, std::move(opts), std::move(pool), &reg);
}

job_pool_actor spawn_worker_pool(caf::actor_system& sys, worker_pool_options opts, pg_pool_actor pool,
                                 actor_registry& reg, metrics::registry* metrics) {
  return sys.spawn(pool_fn, std::move(opts), std::move(pool), &reg, metrics);
}

caf::actor spawn_job_listener(caf::actor_system& sys, std::string dsn, std::map<std::string, job_pool_actor> pools,
                              actor_registry& reg) {
  return sys.spawn<caf::detached>(listener_fn, std::move(dsn), std::move(pools), &reg);
}

} // namespace chorus::actors
