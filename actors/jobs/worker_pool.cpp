#include "actors/jobs/worker_pool.hpp"

#include "actors/jobs/job_session.hpp"
#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/pg/jobs.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <deque>
#include <random>

namespace chorus::actors {
namespace {

using namespace jobs_detail;
namespace pg = storage::pg;
using clock_type = std::chrono::steady_clock;

struct session_slot {
  job_session_actor actor;
  enum phase_t { idle, claiming, running, finishing } phase = idle;
  std::size_t outstanding = 0;  // jobs of the open batch not finished yet
  std::vector<job_id> done;
  std::vector<pg::job_failure> failed;
};
constexpr std::size_t no_session = static_cast<std::size_t>(-1);

enum counter : std::size_t { c_in_flight, c_claimed, c_completed, c_failed, c_dead, c_claims };

struct pool_state {
  static inline const char* name = "chorus.job_pool";
  worker_pool_options opts;
  pg_pool_actor pool;
  std::size_t in_flight = 0;
  struct claimed {
    job_work work;
    clock_type::time_point at;
    std::size_t session = no_session;  // locked claims: the session holding it
  };
  std::deque<claimed> local;  // claimed, not started (prefetch)
  std::vector<session_slot> sessions;  // locked claims only
  std::uint64_t expired_locally = 0;
  int claims_in_flight = 0;   // at most 2: the next batch is fetched while the last one runs
  std::size_t requested = 0;  // jobs asked for by the claims in flight
  bool more = true;  // jobs may be waiting (a wake, or the last claim came back full)
  std::uint64_t wakes = 0;  // wake-ups so far: one that arrives while a claim runs must not be lost
  std::vector<job_id> done;
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

// Counts finished attempts once they are recorded in Postgres.
void account(pool_state& s, std::size_t completed, const std::vector<pg::failed_job>& outcomes) {
  s.counts.completed += completed;
  s.stats->add(c_completed, static_cast<std::int64_t>(completed));
  if (s.ok)
    s.ok->inc(completed);
  for (auto& o : outcomes) {
    ++(o.dead ? s.counts.dead : s.counts.failed);
    s.stats->add(o.dead ? c_dead : c_failed);
    if (auto* m = o.dead ? s.died : s.retried)
      m->inc();
    if (o.dead)
      log::write(log::level::warn, "job is dead (out of attempts)", {{"queue", s.opts.queue}, {"id", o.id}});
  }
}

void finish_session(pool_ptr self, std::size_t i);

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
        self->state.flushing = false;
        account(self->state, completed, *outcomes);
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

// Records an attempt's outcome: for the next batched flush, or in the batch of
// the session holding the job (whose commit follows its last job).
void outcome(pool_ptr self, const job_work& w, std::size_t session, const std::string* error) {
  auto& s = self->state;
  std::vector<job_id>* done = &s.done;
  std::vector<pg::job_failure>* failed = &s.failed;
  if (session != no_session) {
    done = &s.sessions[session].done;
    failed = &s.sessions[session].failed;
  }
  if (!error) {
    done->push_back(w.id);
  } else {
    auto delay = backoff_delay(s.opts.backoff, w.attempt, s.rng);
    failed->push_back({w.id, *error, std::chrono::duration<double>(delay).count()});
  }
  if (session != no_session && --s.sessions[session].outstanding == 0)
    finish_session(self, session);
}

void run(pool_ptr self, job_work w, std::size_t session) {
  auto& s = self->state;
  auto it = s.opts.kinds.find(w.kind);
  if (it == s.opts.kinds.end()) {
    std::string error = "no handler for job kind '" + w.kind + "'";
    outcome(self, w, session, &error);
    return flush(self);
  }
  ++s.in_flight;
  auto started = clock_type::now();
  self->request(it->second.handler, it->second.timeout, w)
    .then(
      [self, w, session, started](ok_atom) {
        outcome(self, w, session, nullptr);
        finished(self, started);
      },
      [self, w, session, started](caf::error& err) {
        auto error = description_of(err).empty() ? caf::to_string(err) : description_of(err);
        outcome(self, w, session, &error);
        finished(self, started);
      });
}

// A session's batch is over: one transaction deletes its finished jobs, records
// its failures and commits. If that fails, the transaction rolls back and the
// jobs run again (at least once).
void finish_session(pool_ptr self, std::size_t i) {
  auto& s = self->state;
  auto& slot = s.sessions[i];
  slot.phase = session_slot::finishing;
  lock_finish f{std::move(slot.done), std::move(slot.failed)};
  slot.done.clear();
  slot.failed.clear();
  auto n = f.done.size() + f.failed.size();
  self->request(slot.actor, s.opts.timeout, std::move(f))
    .then(
      [self, i](lock_outcome& o) {
        auto& s = self->state;
        s.sessions[i].phase = session_slot::idle;
        account(s, o.completed, o.failed);
        claim(self);
      },
      [self, i, n](caf::error& err) {
        auto& s = self->state;
        s.sessions[i].phase = session_slot::idle;
        log::write(log::level::error, "jobs: a locked batch could not be committed; its jobs will run again",
                   {{"queue", s.opts.queue}, {"jobs", n}, {"error", description_of(err)}});
        claim(self);
      });
}

// Starts claimed jobs while slots are free.
void dispatch(pool_ptr self) {
  auto& s = self->state;
  auto now = clock_type::now();
  while (s.in_flight < s.opts.concurrency && !s.local.empty()) {
    auto c = std::move(s.local.front());
    s.local.pop_front();
    if (c.session == no_session && now - c.at > s.opts.lease / 2) {
      // Too close to its lease expiry to start here: the sweep requeues it.
      if (s.expired_locally++ % 1000 == 0)
        log::write(log::level::warn, "jobs: prefetched jobs waited half their lease; leaving them to the reclaim sweep",
                   {{"queue", s.opts.queue}, {"so_far", s.expired_locally}});
      continue;
    }
    run(self, std::move(c.work), c.session);
  }
}

// Claims, in one statement, as many jobs as there are free slots plus room in
// the local queue, when jobs may be waiting. With a local queue, it waits until
// the queue is half empty, so that claims come in batches.
void claim_locked(pool_ptr self);

void claim(pool_ptr self) {
  auto& s = self->state;
  if (!s.sessions.empty())
    return claim_locked(self);
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
          s.local.push_back({job_work{r.id, r.queue, r.kind, std::move(r.payload), r.attempts}, now, no_session});
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

// Locked claims: every idle session claims a batch of (concurrency + prefetch) /
// sessions jobs, when jobs may be waiting; the next batch is being claimed while
// the last one runs.
void claim_locked(pool_ptr self) {
  auto& s = self->state;
  auto batch = static_cast<int>(std::max<std::size_t>(1, (s.opts.concurrency + s.opts.prefetch) / s.sessions.size()));
  for (std::size_t i = 0; i < s.sessions.size() && s.more; ++i) {
    auto& slot = s.sessions[i];
    if (slot.phase != session_slot::idle)
      continue;
    slot.phase = session_slot::claiming;
    ++s.counts.claims;
    s.stats->add(c_claims);
    auto wakes = s.wakes;
    self->request(slot.actor, s.opts.timeout, lock_claim{s.opts.queue, batch})
      .then(
        [self, i, batch, wakes](lock_batch& b) {
          auto& s = self->state;
          auto& slot = s.sessions[i];
          slot.phase = b.jobs.empty() ? session_slot::idle : session_slot::running;
          slot.outstanding = b.jobs.size();
          s.more = static_cast<int>(b.jobs.size()) == batch || s.wakes != wakes;
          s.counts.claimed += b.jobs.size();
          s.stats->add(c_claimed, static_cast<std::int64_t>(b.jobs.size()));
          auto now = clock_type::now();
          for (auto& r : b.jobs)
            s.local.push_back({job_work{r.id, r.queue, r.kind, std::move(r.payload), r.attempts}, now, i});
          dispatch(self);
          s.publish();
          claim(self);
        },
        [self, i](caf::error& err) {
          auto& s = self->state;
          s.sessions[i].phase = session_slot::idle;  // the next wake or tick tries again
          log::write(log::level::warn, "jobs: locked claim failed", {{"queue", s.opts.queue}, {"error", description_of(err)}});
        });
  }
}

void on_tick(pool_ptr self) {
  auto& s = self->state;
  ++s.wakes;
  s.more = true;  // the safety net: a NOTIFY may have been missed (listener reconnecting)
  claim(self);
  auto depths = std::make_shared<std::vector<pg::queue_depth>>();
  auto reclaimed = std::make_shared<std::vector<std::int64_t>>();
  auto dead_after_s = std::chrono::duration<double>(s.opts.dead_after).count();
  self->request(s.pool, s.opts.timeout, db_call{"jobs.sweep", [=](pqxx::connection_base& c) {
                                                  *reclaimed = pg::reclaim_lost(c, dead_after_s);
                                                  *depths = pg::queue_depths(c);
                                                }})
    .then(
      [self, depths, reclaimed](ok_atom) {
        auto& s = self->state;
        if (!reclaimed->empty())
          log::write(log::level::warn, "jobs: reclaimed jobs of a lost worker (lease expired or node dead)",
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
  if (st.opts.locked)
    for (std::size_t i = 0; i < std::max<std::size_t>(1, st.opts.sessions); ++i) {
      session_slot slot;
      // Linked and detached: each blocks on its own connection, and ends with the pool
      // (its connection closes, its open batch rolls back and the jobs are free).
      slot.actor = spawn_job_session(self, st.opts.dsn, st.opts.owner + "/session-" + std::to_string(i), st.opts.lease);
      st.sessions.push_back(std::move(slot));
    }
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

} // namespace

job_pool_actor spawn_worker_pool(caf::actor_system& sys, worker_pool_options opts, pg_pool_actor pool,
                                 actor_registry& reg, metrics::registry* metrics) {
  return sys.spawn(pool_fn, std::move(opts), std::move(pool), &reg, metrics);
}

} // namespace chorus::actors
