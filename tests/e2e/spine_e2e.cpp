// The HTTP spine through a real chorusd process.
#include "support/harness.hpp"

#include <csignal>
#include <curl/curl.h>
#include <fstream>
#include <future>
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <regex>

using namespace chorus::test;

namespace {
struct Spine : ::testing::Test {
  temp_database db;
};

void expect_json_error(const http_response& r, long status) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("content-type").rfind("application/json", 0), 0u) << r.header("content-type");
  auto j = r.json();
  ASSERT_TRUE(j.contains("error")) << r.body;
  EXPECT_TRUE(j["error"].is_string());
}
} // namespace

TEST_F(Spine, HealthAndReadyAnswerThroughActors) {
  chorusd d(db.dsn(), {{"CHORUS_NODE_NAME", "spine-node"}});
  auto h = get(d.url("/health"));
  ASSERT_EQ(h.status, 200) << h.error << h.body;
  EXPECT_EQ(h.json()["status"], "ok");
  EXPECT_EQ(h.json()["node"], "spine-node");
  auto r = get(d.url("/ready"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "ready");
  EXPECT_EQ(r.json()["checks"]["postgres"]["ok"], true);
  EXPECT_EQ(r.json()["checks"]["redis"]["ok"], true);
  EXPECT_EQ(r.json()["checks"]["migrations"]["ok"], true);
}

TEST_F(Spine, EveryResponseCarriesARequestId) {
  chorusd d(db.dsn());
  auto a = get(d.url("/health"));
  EXPECT_TRUE(std::regex_match(a.header("x-request-id"), std::regex("[0-9a-f]{16}"))) << a.header("x-request-id");
  auto b = get(d.url("/health"));
  EXPECT_NE(a.header("x-request-id"), b.header("x-request-id"));
  auto echoed = get(d.url("/nope"), {"X-Request-Id: client-abc.123"});
  EXPECT_EQ(echoed.header("x-request-id"), "client-abc.123");
  auto unsafe = get(d.url("/health"), {"X-Request-Id: bad id\"<script>"});
  EXPECT_TRUE(std::regex_match(unsafe.header("x-request-id"), std::regex("[0-9a-f]{16}")));
  // And the access log has one JSON line per request with that id.
  ASSERT_TRUE(wait_until([&] { return d.log().find("\"req_id\":\"client-abc.123\"") != std::string::npos; }));
}

TEST_F(Spine, UnknownRouteIs404AndWrongMethodIs405) {
  chorusd d(db.dsn());
  expect_json_error(get(d.url("/api/v1/nothing/here")), 404);
  auto r = http("DELETE", d.url("/health"));
  expect_json_error(r, 405);
  EXPECT_EQ(r.header("allow"), "GET, HEAD");
  expect_json_error(get(d.url("/a%zzb")), 400);
}

TEST_F(Spine, BadBodiesGetClearErrors) {
  chorusd d(db.dsn());
  auto url = d.url("/api/v1/chorus/admin/log_level");
  expect_json_error(http("PUT", url, "{\"level\": ", {"Content-Type: application/json"}), 400);
  expect_json_error(http("PUT", url, "[1]", {"Content-Type: application/json"}), 422);
  expect_json_error(http("PUT", url, "{\"level\": \"loud\"}", {"Content-Type: application/json"}), 422);
  expect_json_error(http("PUT", url, "{\"level\": 3}", {"Content-Type: application/json"}), 422);
  expect_json_error(http("PUT", url, "<level/>", {"Content-Type: application/xml"}), 415);
  expect_json_error(http("PUT", url, "level=%G1", {"Content-Type: application/x-www-form-urlencoded"}), 400);
  // Both encodings Mastodon clients use work.
  auto form = http("PUT", url, "level=warn", {"Content-Type: application/x-www-form-urlencoded"});
  ASSERT_EQ(form.status, 200) << form.body;
  EXPECT_EQ(get(url).json()["level"], "warn");
  auto json = http("PUT", url, "{\"level\":\"info\"}", {"Content-Type: application/json"});
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_EQ(get(url).json()["level"], "info");
}

TEST_F(Spine, BodyOverTheLimitIs413AndTheServerLivesOn) {
  chorusd d(db.dsn(), {{"CHORUS_HTTP_BODY_LIMIT", "4096"}});
  auto url = d.url("/api/v1/chorus/admin/log_level");
  std::string big(10000, 'x');
  auto r = http("PUT", url, "{\"level\":\"" + big + "\"}", {"Content-Type: application/json"});
  expect_json_error(r, 413);
  // Just under the limit is parsed (and rejected for its content, not its size).
  auto ok = http("PUT", url, "{\"level\":\"" + std::string(3000, 'x') + "\"}", {"Content-Type: application/json"});
  EXPECT_EQ(ok.status, 422);
  EXPECT_EQ(get(d.url("/health")).status, 200);
}

TEST_F(Spine, KeepAliveReusesTheConnection) {
  chorusd d(db.dsn());
  CURL* c = curl_easy_init();
  std::string sink;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  long connects = -1;
  for (int i = 0; i < 3; ++i) {
    curl_easy_setopt(c, CURLOPT_URL, d.url("/health").c_str());
    ASSERT_EQ(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    if (i > 0) {
      EXPECT_EQ(connects, 0) << "request " << i << " opened a new connection";
    }
  }
  curl_easy_cleanup(c);
}

TEST_F(Spine, InvalidConfigRefusesToStartNamingTheKey) {
  auto dir = make_temp_dir("badcfg");
  process p({chorusd_path()}, {{"CHORUS_PG_POOL_SIZE", "lots"}}, dir + "/err");
  EXPECT_EQ(p.wait(std::chrono::seconds(10)), 2);
  std::ifstream in(dir + "/err");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("pg.pool_size"), std::string::npos) << text;
}

TEST_F(Spine, GracefulShutdownFinishesInFlightRequests) {
  chorusd d(db.dsn(), {{"CHORUS_HTTP_SHUTDOWN_GRACE_MS", "20000"}});
  ASSERT_EQ(get(d.url("/api/v1/chorus/admin/nodes")).status, 200);
  // Block the nodes listing inside Postgres so the request stays in flight.
  pqxx::connection locker(db.dsn());
  pqxx::work lock_tx(locker);
  lock_tx.exec("LOCK TABLE nodes IN ACCESS EXCLUSIVE MODE");
  auto slow = std::async(std::launch::async, [&] { return get(d.url("/api/v1/chorus/admin/nodes")); });
  auto in_flight = [&] {
    auto m = get(d.url("/metrics")).body;
    std::smatch match;
    return std::regex_search(m, match, std::regex("chorus_http_in_flight (\\d+)")) && std::stoi(match[1]) >= 2;
  };
  ASSERT_TRUE(wait_until(in_flight));
  d.proc().signal(SIGTERM);
  // The process waits for the in-flight request instead of exiting.
  ASSERT_TRUE(wait_until([&] { return d.log().find("signal received") != std::string::npos; }));
  EXPECT_TRUE(d.proc().running());
  lock_tx.commit();
  auto r = slow.get();
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_EQ(d.proc().wait(std::chrono::seconds(20)), 0) << d.log();
}
