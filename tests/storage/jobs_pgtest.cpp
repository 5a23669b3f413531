// The job queue's statements against a real Postgres: claim, complete, fail with
// backoff, dead and replay, idempotent enqueue (also under concurrent duplicates),
// SKIP LOCKED claims that never hand a job out twice, and lease-expiry reclaim.
#include "storage/pg/connection.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/nodes.hpp"
#include "storage/pg/migrate.hpp"
#include "support/harness.hpp"

#include <atomic>
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <set>
#include <thread>

using namespace chorus;
namespace pg = chorus::storage::pg;

namespace {

struct Jobs : ::testing::Test {
  test::temp_database db;
  std::unique_ptr<pqxx::connection> conn;

  void SetUp() override {
    conn = open();
    pg::migrate(*conn);
  }
  std::unique_ptr<pqxx::connection> open() { return pg::connect({db.dsn(), 5, 5000, "t"}); }
  static pg::new_job job(std::string kind, std::string key = "", int priority = 0, int max_attempts = 25) {
    pg::new_job j;
    j.queue = "default";
    j.kind = std::move(kind);
    j.payload = R"({"n": 1})";
    j.unique_key = std::move(key);
    j.priority = priority;
    j.max_attempts = max_attempts;
    return j;
  }
  std::int64_t count(const std::string& where) { return std::stoll(db.query_value("SELECT count(*) FROM jobs WHERE " + where)); }
};

} // namespace

TEST_F(Jobs, ClaimTakesPriorityThenAgeAndCompleteDeletes) {
  auto ids = pg::enqueue_jobs(*conn, {job("low"), job("high", "", 5), job("mid", "", 1)});
  ASSERT_EQ(ids.size(), 3u);
  auto claimed = pg::claim_jobs(*conn, "default", 2, "w1", 30);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].kind, "high");
  EXPECT_EQ(claimed[1].kind, "mid");
  EXPECT_EQ(claimed[0].attempts, 1);
  EXPECT_EQ(claimed[0].state, "running");
  EXPECT_EQ(claimed[0].lease_owner, "w1");
  EXPECT_EQ(nlohmann::json::parse(claimed[0].payload)["n"], 1);
  EXPECT_EQ(pg::complete_jobs(*conn, {claimed[0].id, claimed[1].id}, "someone else"), 0u) << "not the lease owner";
  EXPECT_EQ(pg::complete_jobs(*conn, {claimed[0].id, claimed[1].id}, "w1"), 2u);
  EXPECT_EQ(count("true"), 1);
  auto depths = pg::queue_depths(*conn);
  ASSERT_EQ(depths.size(), 1u);
  EXPECT_EQ(depths[0].queued, 1);
  EXPECT_EQ(depths[0].runnable, 1);
  EXPECT_EQ(depths[0].running, 0);
}

TEST_F(Jobs, EnqueueIsIdempotentPerActiveUniqueKey) {
  auto first = pg::enqueue_jobs(*conn, {job("a", "k1"), job("b", "k1"), job("c"), job("d", "k2")});
  ASSERT_EQ(first.size(), 4u);
  EXPECT_FALSE(first[0].existing);
  EXPECT_TRUE(first[1].existing) << "a duplicate inside the batch";
  EXPECT_EQ(first[1].id, first[0].id);
  EXPECT_FALSE(first[2].existing);
  EXPECT_EQ(count("true"), 3);
  auto again = pg::enqueue_jobs(*conn, {job("a", "k1")});
  EXPECT_TRUE(again[0].existing);
  EXPECT_EQ(again[0].id, first[0].id);
  // Running still counts as active; once finished, the key is free again.
  auto claimed = pg::claim_jobs(*conn, "default", 10, "w", 30);
  EXPECT_TRUE(pg::enqueue_jobs(*conn, {job("a", "k1")})[0].existing);
  std::vector<job_id> done;
  for (auto& j : claimed)
    done.push_back(j.id);
  pg::complete_jobs(*conn, done, "w");
  auto fresh = pg::enqueue_jobs(*conn, {job("a", "k1")});
  EXPECT_FALSE(fresh[0].existing);
  EXPECT_NE(fresh[0].id, first[0].id);
}

TEST_F(Jobs, ConcurrentDuplicateEnqueuesMakeOneJob) {
  constexpr int threads = 8;
  std::vector<std::int64_t> ids(threads);
  std::atomic<int> ready{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i)
    ts.emplace_back([&, i] {
      auto c = open();
      ++ready;
      while (ready.load() < threads) {
      }
      ids[i] = pg::enqueue_jobs(*c, {job("x", "same-key")})[0].id;
    });
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(count("unique_key = 'same-key'"), 1);
  for (auto id : ids)
    EXPECT_EQ(id, ids[0]) << "every caller gets the one job";
}

TEST_F(Jobs, SkipLockedNeverHandsAJobOutTwice) {
  std::vector<pg::new_job> batch;
  for (int i = 0; i < 300; ++i)
    batch.push_back(job("n" + std::to_string(i)));
  pg::enqueue_jobs(*conn, batch);
  std::mutex mtx;
  std::multiset<std::int64_t> seen;
  std::vector<std::thread> ts;
  for (int w = 0; w < 4; ++w)
    ts.emplace_back([&, w] {
      auto c = open();
      for (;;) {
        auto got = pg::claim_jobs(*c, "default", 7, "w" + std::to_string(w), 30);
        if (got.empty())
          return;
        std::lock_guard<std::mutex> lock(mtx);
        for (auto& j : got)
          seen.insert(j.id);
      }
    });
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_EQ(std::set<std::int64_t>(seen.begin(), seen.end()).size(), 300u) << "no job claimed twice";
}

TEST_F(Jobs, FailuresBackOffThenDieAndDeadJobsReplay) {
  auto id = pg::enqueue_jobs(*conn, {job("flaky", "", 0, 2)})[0].id;
  auto c1 = pg::claim_jobs(*conn, "default", 1, "w", 30);
  ASSERT_EQ(c1.size(), 1u);
  auto f1 = pg::fail_jobs(*conn, {{id, "boom 1", 3600}}, "w");
  ASSERT_EQ(f1.size(), 1u);
  EXPECT_FALSE(f1[0].dead);
  EXPECT_TRUE(pg::claim_jobs(*conn, "default", 1, "w", 30).empty()) << "backing off for an hour";
  EXPECT_EQ(count("state = 'queued' AND run_at > now() + interval '59 minutes'"), 1);
  db.exec("UPDATE jobs SET run_at = now()");  // the hour has passed
  auto c2 = pg::claim_jobs(*conn, "default", 1, "w", 30);
  ASSERT_EQ(c2.size(), 1u);
  EXPECT_EQ(c2[0].attempts, 2);
  EXPECT_EQ(c2[0].last_error, "boom 1");
  auto f2 = pg::fail_jobs(*conn, {{id, "boom 2", 1}}, "w");
  ASSERT_EQ(f2.size(), 1u);
  EXPECT_TRUE(f2[0].dead) << "out of attempts";
  auto dead = pg::list_jobs(*conn, "default", "dead", 0, 10);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].last_error, "boom 2");
  EXPECT_TRUE(pg::claim_jobs(*conn, "default", 1, "w", 30).empty()) << "dead jobs are kept, not run";
  EXPECT_EQ(pg::replay_dead(*conn, {job_id{id}}), std::vector<job_id>{job_id{id}});
  auto c3 = pg::claim_jobs(*conn, "default", 1, "w", 30);
  ASSERT_EQ(c3.size(), 1u);
  EXPECT_EQ(c3[0].attempts, 1) << "replay starts the attempts afresh";
  EXPECT_TRUE(pg::replay_dead(*conn, {job_id{id}}).empty()) << "only dead jobs replay";
}

TEST_F(Jobs, ExpiredLeasesAreReclaimedAndTheLostWorkerCannotFinish) {
  auto id = pg::enqueue_jobs(*conn, {job("slow")})[0].id;
  ASSERT_EQ(pg::claim_jobs(*conn, "default", 1, "dead-worker", 0.05).size(), 1u);
  std::vector<std::int64_t> reclaimed;
  ASSERT_TRUE(test::wait_until([&] {
    reclaimed = pg::reclaim_lost(*conn, 10);
    return !reclaimed.empty();
  }));
  EXPECT_EQ(reclaimed, std::vector<std::int64_t>{id});
  EXPECT_EQ(pg::complete_jobs(*conn, {job_id{id}}, "dead-worker"), 0u) << "its lease is gone";
  auto again = pg::claim_jobs(*conn, "default", 1, "live-worker", 30);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 2);
  EXPECT_EQ(again[0].last_error, "lease expired (worker lost)");
  EXPECT_EQ(pg::complete_jobs(*conn, {job_id{id}}, "live-worker"), 1u);
}

TEST_F(Jobs, EnqueueJoinsTheCallersTransaction) {
  {
    pqxx::work tx(*conn);
    pg::enqueue_jobs(tx, {job("rolled-back")});
    // no commit: the job goes with the write that caused it
  }
  EXPECT_EQ(count("true"), 0);
  pqxx::work tx(*conn);
  pg::enqueue_jobs(tx, {job("kept")});
  tx.commit();
  EXPECT_EQ(count("kind = 'kept'"), 1);
}

// A node seen dead (its incarnation silent for dead_after) loses its leases at
// once; a live node, a claim younger than dead_after (a node starting before its
// first heartbeat lands) and owners that name no incarnation keep theirs.
TEST_F(Jobs, LeasesOfADeadNodeIncarnationAreReclaimedAtOnce) {
  auto dead = pg::new_incarnation(), live = pg::new_incarnation(), fresh = pg::new_incarnation();
  EXPECT_NE(dead, live);
  pg::upsert_node(*conn, {"node-a", "-", "t", "", 0, dead}, true);
  pg::upsert_node(*conn, {"node-b", "-", "t", "", 0, live}, true);
  auto ids = pg::enqueue_jobs(*conn, {job("a"), job("b"), job("c"), job("d")});
  auto claim_as = [&](const std::string& owner) { ASSERT_EQ(pg::claim_jobs(*conn, "default", 1, owner, 120).size(), 1u); };
  claim_as(pg::lease_owner(dead, "node-a/default"));
  claim_as(pg::lease_owner(live, "node-b/default"));
  claim_as("legacy-owner/default");
  db.exec("UPDATE jobs SET updated_at = now() - interval '1 minute'");
  claim_as(pg::lease_owner(fresh, "node-c/default"));  // claimed just now, no heartbeat yet
  db.exec("UPDATE node_incarnations SET last_seen_at = now() - interval '1 minute' WHERE incarnation = '" + dead + "'");
  // Same name, new incarnation: the old one is dead whatever the nodes row says.
  pg::upsert_node(*conn, {"node-a", "-", "t", "", 0, pg::new_incarnation()}, true);
  auto reclaimed = pg::reclaim_lost(*conn, 10);
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(reclaimed[0], ids[0].id);
  EXPECT_EQ(db.query_value("SELECT state FROM jobs WHERE id = " + std::to_string(ids[0].id)), "queued");
  EXPECT_EQ(db.query_value("SELECT last_error FROM jobs WHERE id = " + std::to_string(ids[0].id)),
            "node lost: " + dead + " stopped heartbeating");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM jobs WHERE state = 'running'"), "3");
  EXPECT_EQ(pg::complete_jobs(*conn, {job_id{ids[0].id}}, pg::lease_owner(dead, "node-a/default")), 0u) << "its lease is gone";
  // Once the fresh claim is older than dead_after with no heartbeat, it goes too.
  db.exec("UPDATE jobs SET updated_at = now() - interval '1 minute' WHERE lease_owner LIKE '" + fresh + "/%'");
  EXPECT_EQ(pg::reclaim_lost(*conn, 10).size(), 1u);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM jobs WHERE state = 'running'"), "2");
}
