// A worker process killed with SIGKILL in the middle of its batches: every job
// still completes (another worker reclaims the dead one's leases when they
// expire) and none takes effect twice, although a job whose effect committed just before
// the kill runs again — at-least-once
// execution with idempotent handlers. The workers are real processes
// (support/job_worker.cpp) running the production worker-pool actors.
#include "storage/pg/connection.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/migrate.hpp"
#include "support/harness.hpp"

#include <csignal>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus;
namespace pg = chorus::storage::pg;

TEST(JobCrash, AWorkerKilledMidBatchLosesNoJobAndDoublesNoEffect) {
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
  {
    test::process first({CHORUS_JOB_WORKER_PATH, db.dsn(), "worker-1", "1500", "60000"}, {}, logs + "/worker-1.log");
    ASSERT_TRUE(test::wait_until([&] { return count("SELECT count(*) FROM crash_effects") >= 200; },
                                 std::chrono::seconds(60)))
      << "the first worker makes progress";
    first.signal(SIGKILL);
    EXPECT_EQ(first.wait(std::chrono::seconds(10)), 128 + SIGKILL);
  }
  auto stranded = count("SELECT count(*) FROM jobs WHERE state = 'running' AND lease_owner = 'worker-1'");
  EXPECT_GT(stranded, 0) << "killed in the middle of a batch: jobs were running under its lease";
  EXPECT_LT(count("SELECT count(*) FROM crash_effects"), n) << "killed before the end";

  test::process second({CHORUS_JOB_WORKER_PATH, db.dsn(), "worker-2", "1500", "200"}, {}, logs + "/worker-2.log");
  ASSERT_TRUE(test::wait_until([&] { return count("SELECT count(*) FROM jobs") == 0; }, std::chrono::seconds(90)))
    << count("SELECT count(*) FROM jobs") << " jobs left";
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait(std::chrono::seconds(30)), 0);

  EXPECT_EQ(count("SELECT count(*) FROM crash_effects"), n) << "every job took effect";
  EXPECT_EQ(count("SELECT n FROM crash_total"), n) << "and none twice";
  EXPECT_GE(count("SELECT count(*) FROM crash_runs"), n);
  EXPECT_EQ(count("SELECT count(DISTINCT job_id) FROM crash_runs"), n);
}
