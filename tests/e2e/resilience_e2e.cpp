// Dependencies failing under a running chorusd: Postgres and Redis stop and come
// back, and a saturated pool sheds load with 503 + Retry-After.
#include "support/harness.hpp"

#include <future>
#include <tuple>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace chorus::test;

TEST(Resilience, PostgresStoppedMidTestThenRecovers) {
  private_postgres pg;
  {
    pqxx::connection c(pg.dsn());
    pqxx::nontransaction(c).exec("CREATE DATABASE chorus");
  }
  chorusd d(pg.dsn("chorus"), {{"CHORUS_PG_RECONNECT_MAX_MS", "200"}});
  ASSERT_EQ(get(d.url("/ready")).status, 200);
  ASSERT_EQ(get(d.url("/api/v1/chorus/admin/nodes")).status, 200);

  pg.stop();
  ASSERT_TRUE(wait_until([&] { return get(d.url("/ready")).status == 503; }));
  auto ready = get(d.url("/ready"));
  EXPECT_EQ(ready.json()["checks"]["postgres"]["ok"], false);
  EXPECT_EQ(ready.json()["checks"]["redis"]["ok"], true);
  EXPECT_FALSE(ready.header("retry-after").empty());
  auto nodes = get(d.url("/api/v1/chorus/admin/nodes"));
  EXPECT_EQ(nodes.status, 503) << nodes.body;
  EXPECT_TRUE(nodes.json().contains("error"));
  EXPECT_FALSE(nodes.header("retry-after").empty());
  // Liveness does not depend on Postgres.
  EXPECT_EQ(get(d.url("/health")).status, 200);
  // What a client that is not an operator sees of the failure: a 503 with the
  // status's own message, never the database's address or the driver's text
  // (which go to the log with the request id).
  const std::vector<std::string> public_client = {"X-Forwarded-For: 203.0.113.9",
                                                  "Content-Type: application/x-www-form-urlencoded"};
  for (auto [method, path, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
         {"GET", "/api/v1/accounts/1", ""},
         {"GET", "/api/v1/timelines/public", ""},
         {"GET", "/api/v1/accounts/lookup?acct=alice", ""},
         {"POST", "/api/v1/apps", "client_name=x&redirect_uris=urn:ietf:wg:oauth:2.0:oob"},
         {"POST", "/oauth/token", "grant_type=client_credentials&client_id=a&client_secret=b"},
         {"GET", "/ready", ""}}) {
    auto r = http(method, d.url(path), body, public_client);
    EXPECT_EQ(r.status, 503) << method << " " << path << ": " << r.body;
    for (auto leak : {std::string("127.0.0.1"), std::to_string(pg.port()), std::string("server at"),
                      std::string("onnection refused"), std::string("connection to")})
      EXPECT_EQ(r.body.find(leak), std::string::npos) << method << " " << path << " leaks '" << leak << "': " << r.body;
    EXPECT_TRUE(r.json().contains("error")) << r.body;
  }
  EXPECT_NE(d.log().find("\"req_id\""), std::string::npos) << "the failure's details are logged with the request id";

  pg.start();
  EXPECT_TRUE(wait_until([&] { return get(d.url("/ready")).status == 200; }, std::chrono::seconds(30)));
  EXPECT_TRUE(wait_until([&] { return get(d.url("/api/v1/chorus/admin/nodes")).status == 200; },
                         std::chrono::seconds(30)));
}

TEST(Resilience, RedisStoppedMidTestThenRecovers) {
  temp_database db;
  private_redis redis;
  chorusd d(db.dsn(), {{"CHORUS_REDIS_PORT", std::to_string(redis.port())}});
  ASSERT_EQ(get(d.url("/ready")).status, 200);
  redis.stop();
  ASSERT_TRUE(wait_until([&] { return get(d.url("/ready")).status == 503; }));
  EXPECT_EQ(get(d.url("/ready")).json()["checks"]["redis"]["ok"], false);
  redis.start();
  EXPECT_TRUE(wait_until([&] { return get(d.url("/ready")).status == 200; }, std::chrono::seconds(30)));
}

TEST(Resilience, SaturatedPoolShedsWith503AndRetryAfter) {
  temp_database db;
  chorusd d(db.dsn(), {{"CHORUS_PG_POOL_SIZE", "1"}, {"CHORUS_PG_QUEUE_LIMIT", "1"}});
  // Startup's own background jobs (heartbeat, the trends seed) may hold the one
  // connection and the one queue slot for a moment.
  ASSERT_TRUE(wait_until([&] { return get(d.url("/api/v1/chorus/admin/nodes")).status == 200; }));
  pqxx::connection locker(db.dsn());
  pqxx::work lock_tx(locker);
  lock_tx.exec("LOCK TABLE nodes IN ACCESS EXCLUSIVE MODE");
  std::vector<std::future<http_response>> calls;
  for (int i = 0; i < 4; ++i)
    calls.push_back(std::async(std::launch::async, [&] { return get(d.url("/api/v1/chorus/admin/nodes")); }));
  // With one connection busy and one slot queued, the rest are refused at once.
  bool shed = false;
  std::vector<http_response> done;
  for (auto& c : calls)
    if (c.wait_for(std::chrono::seconds(1)) == std::future_status::ready) {
      auto r = c.get();
      if (r.status == 503) {
        shed = true;
        EXPECT_FALSE(r.header("retry-after").empty());
        EXPECT_TRUE(r.json().contains("error"));
      }
    }
  EXPECT_TRUE(shed);
  lock_tx.commit();
  EXPECT_TRUE(wait_until([&] { return get(d.url("/api/v1/chorus/admin/nodes")).status == 200; }));
}
