// A worker process killed with SIGKILL in the middle of its batches: every job
// still completes (another worker reclaims the dead one's leases when they
// expire) and none takes effect twice, although a job whose effect committed just before
// the kill runs again — at-least-once
// execution with idempotent handlers. The workers are real processes
// (support/job_worker.cpp) running the production worker-pool actors.
#include "storage/pg/connection.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/migrate.hpp"
#include "storage/pg/nodes.hpp"
#include "support/harness.hpp"

#include <csignal>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
namespace pg = chorus::storage::pg;

namespace {

// `mode` is how the workers claim: "lease" (the default) or "locked" (rows held
// in an open transaction, worker_pool_options::locked).
// With `dead_node`, the first worker's leases are long (120 s) and its owner names
// a node incarnation that heartbeats once: after the kill, the second worker's
// sweep must release them when the incarnation is seen dead (node.dead_after_ms,
// 10 s by default), long before they expire.
void kill_mid_batch(const std::string& mode, bool dead_node = false) {
  test::temp_database db;
  auto conn = pg::connect({db.dsn(), 5, 5000, "t"});
  pg::migrate(*conn);
  db.exec("CREATE TABLE crash_runs (job_id bigint NOT NULL);"
          "CREATE TABLE crash_effects (job_id bigint PRIMARY KEY);"
          "CREATE TABLE crash_total (n bigint NOT NULL); INSERT INTO crash_total VALUES (0);");
  const int n = 1000;
  std::vector<pg::new_job> jobs;
  for (int i = 0; i < n; ++i) {
    pg::new_job j;
    j.queue = "crash";
    j.kind = "test.effect";
    jobs.push_back(j);
  }
  pg::enqueue_jobs(*conn, jobs);
  auto count = [&](const std::string& sql) { return std::stoll(db.query_value(sql)); };

  auto logs = test::make_temp_dir("job-worker");
  std::string owner = "worker-1", lease_ms = "1500";
  if (dead_node) {
    auto incarnation = pg::new_incarnation();
    pg::upsert_node(*conn, {"worker-1", "-", "test", "", 0, incarnation}, true);
    owner = pg::lease_owner(incarnation, "worker-1/crash");
    lease_ms = "120000";
  }
  {
    test::process first({CHORUS_JOB_WORKER_PATH, db.dsn(), owner, lease_ms, "60000", mode}, {},
                        logs + "/worker-1.log");
    // Kill it in the middle of a batch: with jobs running under its lease, or
    // (locked claims) with effects committed whose jobs are not yet deleted.
    // Waiting for that state, not for a time, keeps the kill from landing
    // between two batches on a busy machine.
    auto mid_batch = mode == "lease"
                       ? "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_owner = '" + owner + "'"
                       : std::string("SELECT count(*) FROM jobs j JOIN crash_effects e ON e.job_id = j.id");
    ASSERT_TRUE(test::wait_until([&] { return count("SELECT count(*) FROM crash_effects") >= 200 && count(mid_batch) > 0; },
                                 std::chrono::seconds(60)))
      << "the first worker makes progress";
    first.signal(SIGKILL);
    EXPECT_EQ(first.wait(std::chrono::seconds(10)), 128 + SIGKILL);
  }
  auto effects = count("SELECT count(*) FROM crash_effects");
  EXPECT_LT(effects, n) << "killed before the end";
  if (mode == "lease") {
    EXPECT_GT(count("SELECT count(*) FROM jobs WHERE state = 'running' AND lease_owner = '" + owner + "'"), 0)
      << "killed in the middle of a batch: jobs were running under its lease";
  } else {
    // Its open batch rolled back: every job without a committed deletion is queued again.
    EXPECT_TRUE(test::wait_until([&] { return count("SELECT count(*) FROM jobs WHERE state = 'queued'") ==
                                              count("SELECT count(*) FROM jobs"); }));
    EXPECT_GT(count("SELECT count(*) FROM jobs j JOIN crash_effects e ON e.job_id = j.id"), 0)
      << "killed in the middle of a batch: some jobs had taken effect but were not deleted";
  }

  auto killed_at = std::chrono::steady_clock::now();
  test::process second({CHORUS_JOB_WORKER_PATH, db.dsn(), "worker-2", "1500", "200", mode}, {}, logs + "/worker-2.log");
  ASSERT_TRUE(test::wait_until([&] { return count("SELECT count(*) FROM jobs") == 0; }, std::chrono::seconds(90)))
    << count("SELECT count(*) FROM jobs") << " jobs left";
  if (dead_node) {
    auto waited = std::chrono::steady_clock::now() - killed_at;
    EXPECT_LT(waited, std::chrono::seconds(60)) << "the dead node's 120 s leases were released when it was seen dead";
  }
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait(std::chrono::seconds(30)), 0);

  EXPECT_EQ(count("SELECT count(*) FROM crash_effects"), n) << "every job took effect";
  EXPECT_EQ(count("SELECT n FROM crash_total"), n) << "and none twice";
  EXPECT_GE(count("SELECT count(*) FROM crash_runs"), n);
  EXPECT_EQ(count("SELECT count(DISTINCT job_id) FROM crash_runs"), n);
}

} // namespace

TEST(JobCrash, AWorkerKilledMidBatchLosesNoJobAndDoublesNoEffect) { kill_mid_batch("lease"); }

TEST(JobCrash, ALockedBatchOfAKilledWorkerRollsBackAndRunsOnce) { kill_mid_batch("locked"); }

TEST(JobCrash, LeasesOfANodeSeenDeadAreReleasedBeforeTheyExpire) { kill_mid_batch("lease", true); }
