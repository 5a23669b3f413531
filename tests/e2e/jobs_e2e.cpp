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

TEST(JobsNode, BuiltInMaintenanceJobsAreScheduledAndRun) {
  temp_database db;
  chorusd d(db.dsn());
  // Each recurring job's current period is recorded once (by whichever node is first).
  ASSERT_TRUE(wait_until([&] { return db.query_value("SELECT count(*) FROM cron_runs") == "2"; }));
  // A retired node's heartbeat row, and a prune job for it, woken by NOTIFY.
  db.exec("INSERT INTO nodes (name, http_address, version, started_at, last_seen_at)"
          " VALUES ('retired', '10.0.0.9:3000', 'old', now() - interval '40 days', now() - interval '30 days')");
  db.exec("INSERT INTO jobs (queue, kind, payload) VALUES ('maintenance', 'maintenance.prune_nodes', '{\"days\": 7}');"
          " SELECT pg_notify('chorus_jobs', 'maintenance')");
  EXPECT_TRUE(wait_until([&] { return db.query_value("SELECT count(*) FROM nodes WHERE name = 'retired'") == "0"; }));
  EXPECT_TRUE(wait_until([&] {
    return db.query_value("SELECT count(*) FROM jobs WHERE state <> 'dead'") == "0";
  })) << "every job finished (the scheduled ones too)";
  auto metrics = get(d.url("/metrics")).body;
  EXPECT_NE(metrics.find("chorus_jobs_processed_total{queue=\"maintenance\",outcome=\"ok\"}"), std::string::npos)
    << metrics.substr(0, 2000);
  EXPECT_NE(metrics.find("chorus_queue_depth{queue=\"default\"}"), std::string::npos);
}

TEST(JobsAdmin, ListRetryAndReplayOverHttp) {
  temp_database db;
  chorusd d(db.dsn(), {{"CHORUS_JOBS_QUEUES", "default:1"}});  // no pool for "mail": its jobs stay put
  db.exec("INSERT INTO jobs (queue, kind, payload, state, attempts, max_attempts, last_error, run_at) VALUES"
          " ('mail', 'digest', '{\"user\": 1}', 'dead', 3, 3, 'smtp down', now()),"
          " ('mail', 'digest', '{\"user\": 2}', 'queued', 1, 3, 'timeout', now() + interval '1 hour')");
  auto dead = db.query_value("SELECT id FROM jobs WHERE state = 'dead'");
  auto waiting = db.query_value("SELECT id FROM jobs WHERE queue = 'mail' AND state = 'queued'");
  auto list = get(d.url("/api/v1/chorus/admin/jobs?queue=mail&state=dead"));
  ASSERT_EQ(list.status, 200) << list.body;
  auto body = list.json();
  ASSERT_EQ(body["jobs"].size(), 1u);
  EXPECT_EQ(body["jobs"][0]["id"], dead);
  EXPECT_EQ(body["jobs"][0]["last_error"], "smtp down");
  EXPECT_EQ(body["jobs"][0]["payload"]["user"], 1);
  bool mail = false;
  for (auto& q : body["queues"])
    mail |= q["queue"] == "mail" && q["dead"] == 1 && q["queued"] == 1;
  EXPECT_TRUE(mail) << body["queues"].dump();
  EXPECT_EQ(get(d.url("/api/v1/chorus/admin/jobs?state=done")).status, 422);
  EXPECT_EQ(get(d.url("/api/v1/chorus/admin/jobs?limit=0")).status, 422);
  EXPECT_EQ(get(d.url("/api/v1/chorus/admin/jobs"), {"X-Forwarded-For: 203.0.113.9"}).status, 401) << "admins only";
  EXPECT_EQ(http("POST", d.url("/api/v1/chorus/admin/jobs/" + dead + "/retry")).status, 404) << "dead: replay it";
  auto replayed = http("POST", d.url("/api/v1/chorus/admin/jobs/" + dead + "/replay"));
  ASSERT_EQ(replayed.status, 200) << replayed.body;
  EXPECT_EQ(db.query_value("SELECT state || '/' || attempts FROM jobs WHERE id = " + dead), "queued/0");
  EXPECT_EQ(http("POST", d.url("/api/v1/chorus/admin/jobs/" + dead + "/replay")).status, 404);
  ASSERT_EQ(http("POST", d.url("/api/v1/chorus/admin/jobs/" + waiting + "/retry")).status, 200);
  EXPECT_EQ(db.query_value("SELECT run_at <= now() FROM jobs WHERE id = " + waiting), "t");
  EXPECT_EQ(http("POST", d.url("/api/v1/chorus/admin/jobs/x/retry")).status, 404);
}
