// chorusctl jobs against a real database: queue depths, listing, making a job in
// backoff runnable now, and replaying a dead job.
#include "support/harness.hpp"

#include <fstream>
#include <gtest/gtest.h>

using namespace chorus::test;

TEST(JobsCtl, ListsRetriesAndReplays) {
  temp_database db;
  chorusd d(db.dsn());  // migrates the database
  db.exec("INSERT INTO jobs (queue, kind, payload, state, attempts, max_attempts, last_error, run_at) VALUES"
          " ('mail', 'digest', '{\"user\": 1}', 'dead', 3, 3, 'smtp down', now()),"
          " ('mail', 'digest', '{\"user\": 2}', 'queued', 1, 3, 'timeout', now() + interval '1 hour'),"
          " ('media', 'resize', '{}', 'queued', 0, 25, NULL, now() - interval '5 seconds')");
  auto dead = db.query_value("SELECT id FROM jobs WHERE state = 'dead'");
  auto waiting = db.query_value("SELECT id FROM jobs WHERE queue = 'mail' AND state = 'queued'");
  auto dir = make_temp_dir("jobsctl");
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), CHORUS_CHORUSCTL_PATH);
    process p(args, {{"CHORUS_PG_DSN", db.dsn()}}, dir + "/out");
    auto rc = p.wait(std::chrono::seconds(30));
    std::ifstream in(dir + "/out");
    return std::make_pair(rc, std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  };
  auto [rc, out] = ctl({"--json", "jobs", "queues"});
  ASSERT_EQ(rc, 0) << out;
  auto queues = nlohmann::json::parse(out);
  ASSERT_EQ(queues.size(), 2u) << out;
  EXPECT_EQ(queues[0]["queue"], "mail");
  EXPECT_EQ(queues[0]["dead"], 1);
  EXPECT_EQ(queues[0]["queued"], 1);
  EXPECT_EQ(queues[0]["runnable"], 0) << "the mail job waits for its retry delay";
  EXPECT_EQ(queues[1]["runnable"], 1);
  EXPECT_GE(queues[1]["oldest_runnable_s"].get<double>(), 4.0);
  auto listed = ctl({"--json", "jobs", "list", "--queue", "mail", "--state", "dead"});
  ASSERT_EQ(listed.first, 0) << listed.second;
  auto dead_list = nlohmann::json::parse(listed.second);
  ASSERT_EQ(dead_list.size(), 1u);
  EXPECT_EQ(dead_list[0]["last_error"], "smtp down");
  EXPECT_EQ(dead_list[0]["payload"]["user"], 1);
  EXPECT_EQ(ctl({"jobs", "list", "--state", "nope"}).first, 1);
  EXPECT_EQ(ctl({"jobs", "replay", "x"}).first, 1);
  ASSERT_EQ(ctl({"jobs", "retry", waiting}).first, 0);
  EXPECT_EQ(db.query_value("SELECT run_at <= now() FROM jobs WHERE id = " + waiting), "t");
  EXPECT_EQ(ctl({"jobs", "retry", dead}).first, 1) << "dead jobs are replayed, not retried";
  ASSERT_EQ(ctl({"jobs", "replay", dead}).first, 0);
  EXPECT_EQ(db.query_value("SELECT state || '/' || attempts FROM jobs WHERE id = " + dead), "queued/0");
  EXPECT_EQ(ctl({"jobs", "replay", dead}).first, 1) << "no longer dead";
}
