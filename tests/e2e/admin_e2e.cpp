// Admin API, metrics and multi-node behaviour through real chorusd processes.
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <fstream>
#include <regex>
#include <sstream>

using namespace chorus::test;

namespace {
const std::string token = "test-admin-token-0123456789";

// Value of the first sample whose name and labels start with `series`
// (so `chorus_pg_pool_size` matches `chorus_pg_pool_size{instance="main"}`).
double metric(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find("\n" + series, pos)) != std::string::npos) {
    auto line_end = text.find('\n', pos + 1);
    auto line = text.substr(pos + 1, line_end - pos - 1);
    auto space = line.rfind(' ');
    auto key = line.substr(0, space);
    if (key == series || (key.rfind(series, 0) == 0 && (key[series.size()] == '{' || series.back() == '}')))
      return std::stod(line.substr(space + 1));
    pos = line_end;
  }
  return -1;
}
} // namespace

TEST(Admin, ActorsListsEveryLiveActorKind) {
  temp_database db;
  chorusd d(db.dsn(), {{"CHORUS_PG_POOL_SIZE", "3"}});
  auto r = get(d.url("/api/v1/chorus/admin/actors"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json();
  EXPECT_EQ(j["by_kind"]["pg_pool"], 1);
  EXPECT_EQ(j["by_kind"]["pg_worker"], 3);
  EXPECT_EQ(j["by_kind"]["redis"], 1);
  EXPECT_EQ(j["by_kind"]["redis_worker"], 1);
  EXPECT_EQ(j["by_kind"]["node"], 1);
  for (auto& a : j["actors"]) {
    EXPECT_TRUE(a.contains("mailbox"));
    EXPECT_TRUE(a.contains("counters"));
  }
  auto pools = get(d.url("/api/v1/chorus/admin/actors?kind=pg_pool")).json();
  ASSERT_EQ(pools["actors"].size(), 1u);
  EXPECT_EQ(pools["actors"][0]["counters"]["size"], 3);
  // The actor map in docs/architecture.md describes every kind a running node has.
  std::ifstream in(std::string(CHORUS_SOURCE_DIR) + "/docs/architecture.md");
  std::stringstream doc;
  doc << in.rdbuf();
  ASSERT_FALSE(doc.str().empty());
  for (auto it = j["by_kind"].begin(); it != j["by_kind"].end(); ++it)
    EXPECT_NE(doc.str().find("`" + it.key() + "`"), std::string::npos)
      << "actor kind '" << it.key() << "' is live but docs/architecture.md does not name it";
}

TEST(Admin, RoutesAreGuarded) {
  temp_database db;
  chorusd d(db.dsn(), {{"CHORUS_ADMIN_TOKEN", token}});
  auto url = d.url("/api/v1/chorus/admin/actors");
  // A loopback peer that says it forwards for someone else is not trusted.
  auto proxied = get(url, {"X-Forwarded-For: 203.0.113.7"});
  EXPECT_EQ(proxied.status, 401);
  EXPECT_TRUE(proxied.json().contains("error"));
  EXPECT_EQ(get(url, {"X-Forwarded-For: 203.0.113.7", "Authorization: Bearer wrong-token-wrong-token"}).status, 403);
  EXPECT_EQ(get(url, {"X-Forwarded-For: 203.0.113.7", "Authorization: Bearer " + token}).status, 200);
  EXPECT_EQ(get(d.url("/metrics"), {"X-Forwarded-For: 203.0.113.7"}).status, 403);
  EXPECT_EQ(get(d.url("/metrics"), {"X-Forwarded-For: 203.0.113.7", "Authorization: Bearer " + token}).status, 200);
  EXPECT_EQ(get(url).status, 200);
}

TEST(Admin, MetricsExposeRequestsActorsAndPools) {
  temp_database db;
  chorusd d(db.dsn(), {{"CHORUS_PG_POOL_SIZE", "2"}});
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(get(d.url("/health")).status, 200);
  get(d.url("/missing"));
  ASSERT_EQ(get(d.url("/ready")).status, 200);
  auto m = get(d.url("/metrics"));
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  auto& t = m.body;
  EXPECT_EQ(metric(t, "chorus_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"}"), 5);
  EXPECT_EQ(metric(t, "chorus_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"), 1);
  EXPECT_EQ(metric(t, "chorus_http_request_duration_seconds_count{route=\"/health\",status=\"200\"}"), 5);
  EXPECT_EQ(metric(t, "chorus_actors{kind=\"pg_worker\"}"), 2);
  EXPECT_GE(metric(t, "chorus_actor_mailbox{kind=\"pg_pool\"}"), 0);
  EXPECT_EQ(metric(t, "chorus_pg_pool_size"), 2);
  EXPECT_GE(metric(t, "chorus_pg_pool_busy"), 0);
  EXPECT_GE(metric(t, "chorus_pg_pool_queued"), 0);
  EXPECT_EQ(metric(t, "chorus_redis_connected"), 1);
  EXPECT_GE(metric(t, "chorus_redis_in_flight"), 0);
  EXPECT_GE(metric(t, "chorus_pg_jobs_total{outcome=\"ok\"}"), 1);
  EXPECT_EQ(metric(t, "chorus_pg_pool_errors_total{instance=\"main\"}"), 0);
  EXPECT_NE(t.find("# TYPE chorus_pg_pool_rejected_total counter"), std::string::npos);
}

TEST(Admin, MigrationsAreListedAndASecondNodeAppliesNothing) {
  temp_database db;
  chorusd a(db.dsn(), {{"CHORUS_NODE_NAME", "node-a"}});
  auto ms = get(a.url("/api/v1/chorus/admin/migrations"));
  ASSERT_EQ(ms.status, 200) << ms.body;
  ASSERT_GE(ms.json().size(), 2u);
  EXPECT_EQ(ms.json()[0]["version"], 1);
  chorusd b(db.dsn(), {{"CHORUS_NODE_NAME", "node-b"}});
  EXPECT_NE(b.log().find("\"applied_now\":0"), std::string::npos) << b.log();
  EXPECT_EQ(db.query_value("SELECT count(*) FROM schema_migrations"), std::to_string(ms.json().size()));
  // Both nodes heartbeat into the shared nodes table.
  ASSERT_TRUE(wait_until([&] {
    auto n = get(b.url("/api/v1/chorus/admin/nodes"));
    return n.status == 200 && n.json().size() == 2;
  }));
  auto nodes = get(a.url("/api/v1/chorus/admin/nodes")).json();
  EXPECT_EQ(nodes[0]["name"], "node-a");
  EXPECT_EQ(nodes[1]["name"], "node-b");
  EXPECT_NE(nodes[1]["http_address"].get<std::string>().find(std::to_string(b.port())), std::string::npos);
}

TEST(Admin, RoutesListingShowsTheTable) {
  temp_database db;
  chorusd d(db.dsn());
  auto r = get(d.url("/api/v1/chorus/admin/routes"));
  ASSERT_EQ(r.status, 200);
  bool found = false;
  for (auto& e : r.json())
    found |= e["path"] == "/ready" && e["method"] == "GET";
  EXPECT_TRUE(found) << r.body;
}
