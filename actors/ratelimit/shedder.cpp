#include "actors/ratelimit/shedder.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/pg/jobs.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

namespace chorus::actors {

int shed_level(double pressure) noexcept { return pressure >= 4 ? 3 : pressure >= 2 ? 2 : pressure >= 1 ? 1 : 0; }

namespace {

namespace pg = storage::pg;
using clock_type = std::chrono::steady_clock;

struct shedder_state {
  static inline const char* name = "chorus.shedder";
  shed_options opts;
  pg_pool_actor pool;
  std::shared_ptr<shed_signal> out;
  std::shared_ptr<actor_stats> stats;
  metrics::gauge* level = nullptr;
  // Last samples, for drain rates.
  clock_type::time_point at{};     // last job sample
  clock_type::time_point pg_at{};  // last pool sample
  std::uint64_t processed = 0;
  double runnable = -1;
  double pg_wait_s = 0;
  double pg_rate = 0;
  int last_level = 0;
};

using self_ptr = shedder_actor::stateful_pointer<shedder_state>;

// Seconds until `value` falls to `target` at `rate` per second (60 if it is not falling).
double drain_time(double value, double target, double rate) {
  if (value <= target)
    return 1;
  return rate > 0 ? (value - target) / rate : 60;
}

void publish(self_ptr self, double jobs_runnable, double oldest_s, double jobs_drain_rate) {
  auto& s = self->state;
  auto ratio = [](double v, double t) { return t > 0 ? v / t : 0.0; };
  auto by_depth = ratio(jobs_runnable, static_cast<double>(s.opts.queue_depth));
  auto by_age = ratio(oldest_s, s.opts.oldest_job_s);
  auto by_wait = ratio(s.pg_wait_s * 1000, s.opts.pg_wait_ms);
  auto pressure = std::max({by_depth, by_age, by_wait});
  auto level = shed_level(pressure);
  // Retry-After: how long the measured drain needs to bring the worst signal under 1.
  double retry = 1;
  if (by_depth >= 1)
    retry = std::max(retry, drain_time(jobs_runnable, static_cast<double>(s.opts.queue_depth) * 0.99, jobs_drain_rate));
  if (by_age >= 1)
    retry = std::max(retry, oldest_s - s.opts.oldest_job_s * 0.99);
  if (by_wait >= 1)
    retry = std::max(retry, s.pg_wait_s);
  s.out->retry_after_s = static_cast<int>(std::clamp(std::ceil(retry), 1.0, 60.0));
  s.out->level = level;
  s.stats->set(0, level);
  if (s.level)
    s.level->set(level);
  if (level != s.last_level)
    log::write(level > s.last_level ? log::level::warn : log::level::info, "load shedding level changed",
               {{"level", level}, {"pressure", pressure}, {"jobs_runnable", jobs_runnable}, {"oldest_job_s", oldest_s},
                {"pg_wait_ms", s.pg_wait_s * 1000}, {"retry_after_s", s.out->retry_after_s.load()}});
  s.last_level = level;
}

void sample(self_ptr self) {
  auto& s = self->state;
  self->request(s.pool, s.opts.tick, stats_atom::value)
    .then([self](pool_status& st) {
      auto& s = self->state;
      auto now = clock_type::now();
      bool measured = s.pg_at != clock_type::time_point{};
      if (measured) {
        auto dt = std::chrono::duration<double>(now - s.pg_at).count();
        if (dt > 0)
          s.pg_rate = 0.7 * s.pg_rate + 0.3 * (static_cast<double>(st.processed - s.processed) / dt);
      }
      s.pg_at = now;
      s.processed = st.processed;
      // Expected wait = queued / completion rate. After a quiet spell the measured
      // rate says little, so it is taken as at least 100 jobs/s per connection
      // (10 ms a job); no estimate before a rate was measured at all.
      auto floor_rate = 100.0 * std::max(1, st.size);
      s.pg_wait_s = st.queued == 0 || !measured ? 0 : static_cast<double>(st.queued) / std::max(s.pg_rate, floor_rate);
    },
          [](caf::error&) {});
  auto depths = std::make_shared<std::vector<pg::queue_depth>>();
  self->request(s.pool, s.opts.tick * 4, db_call{"shed.jobs", [depths](pqxx::connection_base& c) {
                                                    *depths = pg::queue_depths(c);
                                                  }})
    .then(
      [self, depths](ok_atom) {
        auto& s = self->state;
        double runnable = 0, oldest = 0;
        for (auto& q : *depths) {
          runnable += static_cast<double>(q.runnable);
          oldest = std::max(oldest, q.oldest_runnable_s);
        }
        auto now = clock_type::now();
        double drain = 0;
        if (s.runnable >= 0) {
          auto dt = std::chrono::duration<double>(now - s.at).count();
          if (dt > 0)
            drain = std::max(0.0, (s.runnable - runnable) / dt);
        }
        s.runnable = runnable;
        s.at = now;
        publish(self, runnable, oldest, drain);
      },
      [self](caf::error&) {
        // Postgres too busy to answer: its pool wait speaks for itself.
        auto& s = self->state;
        publish(self, std::max(0.0, s.runnable), 0, 0);
      });
}

shedder_actor::behavior_type shedder_fn(self_ptr self, shed_options opts, pg_pool_actor pool, std::shared_ptr<shed_signal> out,
                         actor_registry* reg, metrics::registry* metrics) {
  auto& st = self->state;
  st.opts = opts;
  st.pool = std::move(pool);
  st.out = std::move(out);
  st.stats = reg->enlist(self, "shedder", "main", {"level"});
  if (metrics)
    st.level = &metrics->get_gauge("chorus_shed_level",
                                   "Load shedding: 0 none, 1 anonymous writes, 2 all writes, 3 also reads and sign-ins");
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      observe(self, *self->state.stats);
      sample(self);
      self->delayed_send(self, self->state.opts.tick, tick_atom::value);
    },
  };
}

} // namespace

shedder_actor spawn_shedder(caf::actor_system& sys, shed_options opts, pg_pool_actor pool, std::shared_ptr<shed_signal> out,
                         actor_registry& reg, metrics::registry* metrics) {
  return sys.spawn(shedder_fn, opts, std::move(pool), std::move(out), &reg, metrics);
}

} // namespace chorus::actors
