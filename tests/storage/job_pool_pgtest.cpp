// Worker pools against a real Postgres and real actors: jobs enqueued from
// another connection are picked up through NOTIFY (the safety poll is a minute),
// every job runs exactly once when nothing fails, failing jobs are retried with
// backoff and end dead after max attempts, unknown kinds never run.
#include "actors/db/pg_pool.hpp"
#include "actors/jobs/worker_pool.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/migrate.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <set>

using namespace chorus;
using namespace chorus::actors;
namespace pg = chorus::storage::pg;

namespace {

struct seen_jobs {
  std::mutex mtx;
  std::multiset<std::int64_t> ids;
  std::map<std::int64_t, int> attempts;
  std::size_t size() {
    std::lock_guard<std::mutex> g(mtx);
    return ids.size();
  }
};

// Records each job; fails kind "flaky" every time.
job_handler_actor::behavior_type recorder(job_handler_actor::pointer, seen_jobs* seen) {
  return {
    [seen](job_work& w) -> caf::result<ok_atom> {
      {
        std::lock_guard<std::mutex> g(seen->mtx);
        seen->ids.insert(w.id);
        seen->attempts[w.id] = w.attempt;
      }
      if (w.kind == "flaky")
        return make_error(errc::unavailable, "flaky by design");
      return ok_atom::value;
    },
  };
}

// Takes a few milliseconds of a pool connection per job (pg_sleep), like a real
// handler doing I/O, without blocking an actor thread.
job_handler_actor::behavior_type sleeper(job_handler_actor::pointer self, pg_pool_actor pool) {
  return {
    [self, pool](job_work&) -> caf::result<ok_atom> {
      return self->delegate(pool, db_call{"test.sleep", [](pqxx::connection_base& c) {
                                            pqxx::nontransaction tx(c);
                                            tx.exec("SELECT pg_sleep(0.004)");
                                          }});
    },
  };
}

struct JobPool : ::testing::Test {
  test::temp_database db;
  std::unique_ptr<pqxx::connection> conn;
  test::actor_env env;
  seen_jobs seen;

  void SetUp() override {
    conn = pg::connect({db.dsn(), 5, 5000, "t"});
    pg::migrate(*conn);
  }
  pg_pool_actor pool() {
    pg_pool_options po;
    po.connection = {db.dsn(), 5, 5000, "t"};
    po.size = 2;
    return spawn_pg_pool(env.sys, po, env.reg, nullptr);
  }
  worker_pool_options options(job_handler_actor handler) {
    worker_pool_options o;
    o.queue = "default";
    o.concurrency = 8;
    o.poll = std::chrono::minutes(1);  // only NOTIFY can wake it in time
    o.backoff = {std::chrono::milliseconds(1), std::chrono::milliseconds(5)};
    o.owner = "test-node/default";
    o.kinds["work"] = {handler, std::chrono::seconds(5)};
    o.kinds["flaky"] = {handler, std::chrono::seconds(5)};
    return o;
  }
  static pg::new_job job(const std::string& kind, int max_attempts = 25, const std::string& queue = "default") {
    pg::new_job j;
    j.queue = queue;
    j.kind = kind;
    j.max_attempts = max_attempts;
    return j;
  }
  std::string value(const std::string& sql) { return db.query_value(sql); }
  // A pg pool, the recording handler, a worker pool for "default" and its NOTIFY
  // listener; the actors to stop, listener first.
  std::vector<caf::actor> start_workers() {
    auto p = pool();
    auto handler = env.sys.spawn(recorder, &seen);
    auto workers = spawn_worker_pool(env.sys, options(handler), p, env.reg, &env.metrics);
    auto listener = spawn_job_listener(env.sys, db.dsn(), {{"default", workers}}, env.reg);
    return {listener, caf::actor_cast<caf::actor>(workers), caf::actor_cast<caf::actor>(handler),
            caf::actor_cast<caf::actor>(p)};
  }
};

} // namespace

TEST_F(JobPool, NotifyWakesThePoolAndEveryJobRunsOnce) {
  test::actor_stopper stop{env, start_workers()};
  // The first tick claims nothing; then only NOTIFY can bring the jobs in.
  ASSERT_TRUE(test::wait_until([&] { return env.counters("job_listener")["connected"] == 1; }));
  std::vector<pg::new_job> batch;
  for (int i = 0; i < 200; ++i)
    batch.push_back(job("work"));
  auto other = pg::connect({db.dsn(), 5, 5000, "t"});
  pg::enqueue_jobs(*other, batch);
  ASSERT_TRUE(test::wait_until([&] { return value("SELECT count(*) FROM jobs") == "0"; }, std::chrono::seconds(20)))
    << value("SELECT count(*) FROM jobs") << " left";
  EXPECT_EQ(seen.size(), 200u);
  std::lock_guard<std::mutex> g(seen.mtx);
  EXPECT_EQ(std::set<std::int64_t>(seen.ids.begin(), seen.ids.end()).size(), 200u) << "each job ran once";
  EXPECT_EQ(env.metrics.get_counter("chorus_jobs_processed_total", "", {{"queue", "default"}, {"outcome", "ok"}}).value(),
            200u);
}

TEST_F(JobPool, FailingJobsRetryWithBackoffThenDie) {
  test::actor_stopper stop{env, start_workers()};
  ASSERT_TRUE(test::wait_until([&] { return env.counters("job_listener")["connected"] == 1; }));
  auto ids = pg::enqueue_jobs(*conn, {job("flaky", 3), job("unknown-kind", 2), job("work")});
  // Retries wait for their (tiny) backoff; the pool is woken again by the next
  // enqueue or tick, so nudge it the way a busy system would: more work arrives.
  ASSERT_TRUE(test::wait_until([&] {
    pg::enqueue_jobs(*conn, {job("work")});
    return value("SELECT count(*) FROM jobs WHERE state = 'dead'") == "2";
  }, std::chrono::seconds(20)));
  EXPECT_EQ(value("SELECT attempts FROM jobs WHERE id = " + std::to_string(ids[0].id)), "3");
  EXPECT_EQ(value("SELECT last_error FROM jobs WHERE id = " + std::to_string(ids[0].id)), "flaky by design");
  EXPECT_EQ(value("SELECT last_error FROM jobs WHERE id = " + std::to_string(ids[1].id)),
            "no handler for job kind 'unknown-kind'");
  {
    std::lock_guard<std::mutex> g(seen.mtx);
    EXPECT_EQ(seen.ids.count(ids[0].id), 3u) << "three attempts";
    EXPECT_EQ(seen.ids.count(ids[1].id), 0u) << "no handler ran it";
  }
  ASSERT_TRUE(test::wait_until([&] { return env.counters("job_pool", "default")["dead"] == 2; }));
}

TEST_F(JobPool, ScheduledJobsRunOncePerPeriodAcrossNodes) {
  auto p = pool();
  scheduler_options so;
  schedule sc;
  sc.name = "test.every-200ms";
  sc.period = std::chrono::milliseconds(200);
  sc.job = job("work");
  so.schedules = {sc};
  so.tick = std::chrono::milliseconds(20);
  // Two schedulers, as on two nodes, against one database.
  auto a = spawn_job_scheduler(env.sys, so, p, env.reg);
  auto b = spawn_job_scheduler(env.sys, so, p, env.reg);
  test::actor_stopper stop{env, {a, b, caf::actor_cast<caf::actor>(p)}};
  ASSERT_TRUE(test::wait_until([&] { return std::stoi(value("SELECT count(*) FROM cron_runs")) >= 5; },
                               std::chrono::seconds(20)));
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  ASSERT_TRUE(test::wait_until([&] { return env.counters("job_scheduler").empty(); })) << "both stopped";
  auto runs = value("SELECT count(*) FROM cron_runs WHERE name = 'test.every-200ms'");
  EXPECT_EQ(value("SELECT count(*) FROM jobs WHERE kind = 'work'"), runs) << "one job per slot, not one per node";
  EXPECT_EQ(value("SELECT count(DISTINCT slot) FROM cron_runs"), runs);
  EXPECT_EQ(value("SELECT count(*) FROM cron_runs WHERE job_id IS NULL"), "0");
  EXPECT_GE(std::stoi(runs), 5);
}

TEST_F(JobPool, AFloodedQueueDoesNotStarveAnother) {
  // Two queues on one database and one connection pool: "bulk" gets 2,000 slow
  // jobs first, then "mail" gets 50. Each queue has its own pool and slots
  // (the weighting is per-queue concurrency), so mail finishes long before bulk.
  auto p = pool();
  auto slow = env.sys.spawn(sleeper, p);
  auto fast = env.sys.spawn(recorder, &seen);
  auto bulk_opts = options(slow);
  bulk_opts.queue = "bulk";
  bulk_opts.concurrency = 4;
  bulk_opts.owner = "test-node/bulk";
  bulk_opts.kinds = {{"work", {slow, std::chrono::seconds(5)}}};
  auto mail_opts = options(fast);
  mail_opts.queue = "mail";
  mail_opts.concurrency = 2;
  mail_opts.owner = "test-node/mail";
  auto bulk = spawn_worker_pool(env.sys, bulk_opts, p, env.reg, &env.metrics);
  auto mail = spawn_worker_pool(env.sys, mail_opts, p, env.reg, &env.metrics);
  auto listener = spawn_job_listener(env.sys, db.dsn(), {{"bulk", bulk}, {"mail", mail}}, env.reg);
  test::actor_stopper stop{env, {listener, caf::actor_cast<caf::actor>(bulk), caf::actor_cast<caf::actor>(mail),
                                 caf::actor_cast<caf::actor>(slow), caf::actor_cast<caf::actor>(fast),
                                 caf::actor_cast<caf::actor>(p)}};
  ASSERT_TRUE(test::wait_until([&] { return env.counters("job_listener")["connected"] == 1; }));
  std::vector<pg::new_job> flood(2000, job("work", 25, "bulk"));
  pg::enqueue_jobs(*conn, flood);
  ASSERT_TRUE(test::wait_until([&] { return env.counters("job_pool", "bulk")["completed"] > 0; }))
    << "bulk is being worked on";
  std::vector<pg::new_job> mails(50, job("work", 25, "mail"));
  pg::enqueue_jobs(*conn, mails);
  ASSERT_TRUE(test::wait_until([&] { return value("SELECT count(*) FROM jobs WHERE queue = 'mail'") == "0"; },
                               std::chrono::seconds(20)));
  auto bulk_left = std::stoi(value("SELECT count(*) FROM jobs WHERE queue = 'bulk'"));
  EXPECT_GT(bulk_left, 1000) << "mail did not wait for the flood to drain";
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_GT(env.counters("job_pool", "bulk")["completed"], 0) << "and bulk kept going meanwhile";
}

TEST_F(JobPool, LockedClaimsRunEveryJobOnceAndCountFailedAttempts) {
  auto p = pool();
  auto handler = env.sys.spawn(recorder, &seen);
  auto opts = options(handler);
  opts.locked = true;
  opts.dsn = db.dsn();
  opts.prefetch = 16;
  auto workers = spawn_worker_pool(env.sys, opts, p, env.reg, &env.metrics);
  auto listener = spawn_job_listener(env.sys, db.dsn(), {{"default", workers}}, env.reg);
  test::actor_stopper stop{env, {listener, caf::actor_cast<caf::actor>(workers), caf::actor_cast<caf::actor>(handler),
                                 caf::actor_cast<caf::actor>(p)}};
  ASSERT_TRUE(test::wait_until([&] { return env.counters("job_listener")["connected"] == 1; }));
  std::vector<pg::new_job> batch(300, job("work"));
  batch.push_back(job("flaky", 3));
  auto ids = pg::enqueue_jobs(*conn, batch);
  auto flaky = std::to_string(ids.back().id);
  ASSERT_TRUE(test::wait_until([&] {
    pg::enqueue_jobs(*conn, {job("work")});  // retries wait for their backoff: keep the pool awake
    return value("SELECT state FROM jobs WHERE id = " + flaky) == "dead";
  }, std::chrono::seconds(20)));
  EXPECT_EQ(value("SELECT attempts FROM jobs WHERE id = " + flaky), "3") << "failed attempts are counted";
  EXPECT_EQ(value("SELECT last_error FROM jobs WHERE id = " + flaky), "flaky by design");
  ASSERT_TRUE(test::wait_until([&] { return value("SELECT count(*) FROM jobs WHERE kind = 'work'") == "0"; }));
  std::lock_guard<std::mutex> g(seen.mtx);
  for (std::size_t i = 0; i + 1 < ids.size(); ++i)
    EXPECT_EQ(seen.ids.count(ids[i].id), 1u) << "job " << ids[i].id << " ran once";
  EXPECT_EQ(seen.ids.count(ids.back().id), 3u);
  EXPECT_EQ(value("SELECT count(*) FROM jobs WHERE state = 'running'"), "0") << "locked jobs never show as running";
}
