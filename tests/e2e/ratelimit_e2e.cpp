// Rate limits through real chorusd processes and a real Redis: the headers on
// every limited response, 429 with Retry-After, per-account and per-action
// budgets, one budget shared by two nodes, the per-node fallback while Redis is
// down, and the token given back by a request answered 5xx. Clients are told
// apart by X-Forwarded-For from a trusted proxy (127.0.0.1), each test with
// addresses of its own; the fixture's own requests (registration, sign-in) come
// from loopback and are exempt.
#include "support/client.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <random>
#include <regex>

using namespace chorus::test;

namespace {

// Generous limits for everything a test does not look at.
std::map<std::string, std::string> limits(std::map<std::string, std::string> tight) {
  std::map<std::string, std::string> env{{"CHORUS_RATELIMIT_TRUSTED_PROXIES", "127.0.0.1, ::1"},
                                         {"CHORUS_RATELIMIT_API", "100000/1"},
                                         {"CHORUS_RATELIMIT_ANON", "100000/1"},
                                         {"CHORUS_RATELIMIT_STATUSES", "100000/1"},
                                         {"CHORUS_RATELIMIT_SIGNUP", "100000/1"},
                                         {"CHORUS_RATELIMIT_LOGIN_IP", "100000/1"},
                                         {"CHORUS_RATELIMIT_LOGIN_ACCOUNT", "100000/1"}};
  for (auto& [k, v] : tight)
    env[k] = v;
  return env;
}

// An address no other test (or earlier run against the same Redis) uses.
std::string fresh_ip() {
  static std::mt19937_64 rng{std::random_device{}()};
  char buf[64];
  std::snprintf(buf, sizeof buf, "2001:db8:%x:%x::1", static_cast<unsigned>(rng() & 0xffff),
                static_cast<unsigned>(rng() & 0xffff));
  return buf;
}

struct RateLimits : client_fixture {
  http_response as(const std::string& ip, const std::string& path, const std::string& method = "GET",
                   std::vector<std::string> headers = {}) {
    headers.push_back("X-Forwarded-For: " + ip);
    return http(method, d->url(path), "", headers);
  }
};

} // namespace

TEST_F(RateLimits, EveryLimitedResponseCarriesTheHeadersAndTheLastOneIs429) {
  start(limits({{"CHORUS_RATELIMIT_ANON", "3/3600"}}));
  auto ip = fresh_ip();
  for (int i = 0; i < 3; ++i) {
    auto r = as(ip, "/api/v1/instance");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-ratelimit-limit"), "3");
    EXPECT_EQ(r.header("x-ratelimit-remaining"), std::to_string(2 - i));
    EXPECT_TRUE(std::regex_match(r.header("x-ratelimit-reset"),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << r.header("x-ratelimit-reset");
    EXPECT_EQ(r.header("ratelimit-policy"), "\"anon\";q=3;w=3600");
    EXPECT_EQ(r.header("ratelimit").rfind("\"anon\";r=" + std::to_string(2 - i) + ";t=", 0), 0u) << r.header("ratelimit");
  }
  auto refused = as(ip, "/api/v1/instance");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.json().value("error", ""), "Too many requests");
  EXPECT_GE(std::stoi(refused.header("retry-after")), 1100) << "one interval of 3 per hour: 1200 s, rounded up";
  EXPECT_EQ(refused.header("x-ratelimit-remaining"), "0");
  // Another client (IPv6: another /64) has its own budget; the same /64 does not.
  EXPECT_EQ(as(fresh_ip(), "/api/v1/instance").status, 200);
  EXPECT_EQ(as(std::regex_replace(ip, std::regex("::1$"), "::abcd"), "/api/v1/instance").status, 429);
  // Not limited: health.
  auto health = as(ip, "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.header("x-ratelimit-limit"), "");
}

TEST_F(RateLimits, AccountsHaveTheirOwnBudgetAndStatusCreationAnother) {
  start(limits({{"CHORUS_RATELIMIT_API", "1000/3600"}, {"CHORUS_RATELIMIT_STATUSES", "2/3600"}}));
  auto alice = user("alice"), bob = user("bob");
  auto h = [](const who& w) {
    return std::vector<std::string>{"Authorization: Bearer " + w.token, "X-Forwarded-For: 2001:db8::7",
                                    "Content-Type: application/x-www-form-urlencoded"};
  };
  for (int i = 0; i < 2; ++i) {
    auto r = http("POST", d->url("/api/v1/statuses"), "status=hello" + std::to_string(i), h(alice));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("ratelimit-policy"), "\"statuses\";q=2;w=3600") << "the tightest policy is shown";
  }
  auto third = http("POST", d->url("/api/v1/statuses"), "status=again", h(alice));
  EXPECT_EQ(third.status, 429);
  EXPECT_EQ(third.header("x-ratelimit-limit"), "2");
  auto read = http("GET", d->url("/api/v1/accounts/verify_credentials"), "", h(alice));
  EXPECT_EQ(read.status, 200) << "other API calls use the account's api budget";
  EXPECT_EQ(read.header("x-ratelimit-limit"), "1000");
  EXPECT_EQ(http("POST", d->url("/api/v1/statuses"), "status=bob", h(bob)).status, 200)
    << "bob shares alice's address, not her budget";
}

TEST_F(RateLimits, TwoNodesShareOneBudgetThroughRedis) {
  auto env = limits({{"CHORUS_RATELIMIT_ANON", "4/3600"}});
  start(env);
  chorusd other(db.dsn(), env);
  auto ip = fresh_ip();
  auto on = [&](chorusd& node) { return http("GET", node.url("/api/v1/instance"), "", {"X-Forwarded-For: " + ip}); };
  EXPECT_EQ(on(*d).status, 200);
  EXPECT_EQ(on(other).status, 200);
  EXPECT_EQ(on(*d).status, 200);
  auto last = on(other);
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.header("x-ratelimit-remaining"), "0");
  EXPECT_EQ(on(*d).status, 429);
  EXPECT_EQ(on(other).status, 429);
  EXPECT_EQ(other.stop(), 0) << "the shard threads end with the node";
}

TEST_F(RateLimits, HotBucketsLeaseTokensAndGiveTheUnusedBack) {
  start(limits({{"CHORUS_RATELIMIT_ANON", "1000/3600"}, {"CHORUS_RATELIMIT_LEASE_TOKENS", "20"},
                {"CHORUS_RATELIMIT_LEASE_MS", "200"}}));
  auto ip = fresh_ip();
  int sent = 0;
  std::int64_t last = 1000;
  for (; sent < 30; ++sent) {
    auto r = as(ip, "/api/v1/instance");
    ASSERT_EQ(r.status, 200);
    auto remaining = std::stoll(r.header("x-ratelimit-remaining"));
    EXPECT_LT(remaining, last) << "request " << sent << ": every request counts";
    last = remaining;
  }
  auto leases = [&] {
    std::int64_t n = 0;
    auto listing = get(d->url("/api/v1/chorus/admin/actors?kind=ratelimit")).json();
    for (auto& a : listing["actors"])
      n += a["counters"].value("leases", std::int64_t{0});
    return n;
  };
  EXPECT_GE(leases(), 1) << "a hot bucket took a lease";
  // Once the leases have ended, the unused tokens are back: the budget is exact.
  EXPECT_TRUE(wait_until([&] {
    auto r = as(ip, "/api/v1/instance");
    ++sent;
    return r.header("x-ratelimit-remaining") == std::to_string(1000 - sent);
  }, std::chrono::seconds(10)));
}

TEST_F(RateLimits, RedisDownLimitsPerNodeThenRedisIsUsedAgain) {
  private_redis redis;
  start(limits({{"CHORUS_REDIS_PORT", std::to_string(redis.port())}, {"CHORUS_RATELIMIT_ANON", "3/3600"},
                {"CHORUS_RATELIMIT_REDIS_TIMEOUT_MS", "300"}}));
  auto ip = fresh_ip();
  ASSERT_EQ(as(ip, "/api/v1/instance").status, 200);
  auto fallbacks = [&] { return metric("chorus_ratelimit_fallback_total"); };
  EXPECT_EQ(fallbacks(), 0.0);
  redis.stop();
  // Still served, still limited: by this node alone, with a fresh local bucket.
  auto other = fresh_ip();
  for (int i = 0; i < 3; ++i) {
    auto r = as(other, "/api/v1/instance");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-ratelimit-remaining"), std::to_string(2 - i));
  }
  EXPECT_EQ(as(other, "/api/v1/instance").status, 429);
  EXPECT_GE(fallbacks(), 4.0);
  redis.start();
  // Back to Redis: logged once, and decisions stop being local.
  ASSERT_TRUE(wait_until([&] {
    for (int i = 0; i < 8; ++i)
      as(fresh_ip(), "/api/v1/instance");
    return d->log().find("rate limits: redis is back") != std::string::npos;
  }, std::chrono::seconds(20)));
  EXPECT_TRUE(wait_until([&] {
    auto before = fallbacks();
    for (int i = 0; i < 8; ++i)
      as(fresh_ip(), "/api/v1/instance");
    return fallbacks() == before;
  }, std::chrono::seconds(10)));
  auto log = d->log();
  auto first = log.find("rate limits: redis unavailable");
  EXPECT_NE(first, std::string::npos);
  EXPECT_EQ(log.find("rate limits: redis unavailable", first + 1), std::string::npos) << "logged once per outage";
}

TEST_F(RateLimits, RequestsAnswered5xxGiveTheirTokenBack) {
  // A node on a Postgres of its own, so the test can take the database away and
  // make a limited route fail for real. Shedding is off: its 503s come before
  // the limiter and would not show what the refund does.
  private_postgres pg;
  {
    pqxx::connection c(pg.dsn());
    pqxx::nontransaction(c).exec("CREATE DATABASE chorus");
  }
  d = std::make_unique<chorusd>(pg.dsn("chorus"),
                                limits({{"CHORUS_RATELIMIT_ANON", "3/3600"}, {"CHORUS_PG_RECONNECT_MAX_MS", "200"},
                                        {"CHORUS_RATELIMIT_SHED_QUEUE_DEPTH", "0"},
                                        {"CHORUS_RATELIMIT_SHED_OLDEST_JOB_S", "0"},
                                        {"CHORUS_RATELIMIT_SHED_PG_WAIT_MS", "0"}}));
  auto ip = fresh_ip();
  // An anonymous, limited read that Postgres answers (404: no such account).
  auto lookup = [&] { return as(ip, "/api/v1/accounts/lookup?acct=nobody"); };
  auto first = lookup();
  ASSERT_EQ(first.status, 404) << first.body;
  EXPECT_EQ(first.header("x-ratelimit-remaining"), "2") << "a 4xx spends its token";

  pg.stop();
  ASSERT_TRUE(wait_until([&] { return get(d->url("/ready")).status == 503; }));
  // Five requests fail with the database gone; each took the token the one
  // before gave back, and its headers count it as back. Without refunds the
  // third would already be a 429.
  for (int i = 0; i < 5; ++i) {
    auto r = lookup();
    ASSERT_GE(r.status, 500) << "request " << i << ": " << r.status << " " << r.body;
    ASSERT_LT(r.status, 600) << r.body;
    EXPECT_EQ(r.header("x-ratelimit-remaining"), "2") << "request " << i;
  }

  pg.start();
  // The first lookup that Postgres answers again finds the budget the 404 left.
  http_response back;
  ASSERT_TRUE(wait_until([&] {
    back = lookup();
    if (back.status >= 500)
      EXPECT_EQ(back.header("x-ratelimit-remaining"), "2") << "a 5xx while reconnecting is given back too";
    return back.status < 500;
  }, std::chrono::seconds(30), std::chrono::milliseconds(100)));
  EXPECT_EQ(back.status, 404) << back.body;
  EXPECT_EQ(back.header("x-ratelimit-remaining"), "1");
  auto last = lookup();
  EXPECT_EQ(last.status, 404) << last.body;
  EXPECT_EQ(last.header("x-ratelimit-remaining"), "0");
  auto refused = lookup();
  EXPECT_EQ(refused.status, 429) << "three spent the budget of 3; the 5xx ones did not count";
  EXPECT_GE(std::stoi(refused.header("retry-after")), 1100);
}

TEST_F(RateLimits, UnderLoadAnonymousWritesAreShedFirstThenAllWritesThenReads) {
  // The backlog of runnable jobs is the pressure here: 1 job = pressure 1. The
  // "mail" queue has no pool on this node, so what is enqueued stays.
  start(limits({{"CHORUS_RATELIMIT_SHED_QUEUE_DEPTH", "1"}, {"CHORUS_RATELIMIT_SHED_OLDEST_JOB_S", "0"},
                {"CHORUS_RATELIMIT_SHED_PG_WAIT_MS", "0"}, {"CHORUS_JOBS_QUEUES", "default:1,feeds:2,notifications:1"}}));
  auto alice = user("alice");
  auto ip = fresh_ip();
  auto anon_write = [&] {
    return http("POST", d->url("/api/v1/apps"), "client_name=shed&redirect_uris=urn:ietf:wg:oauth:2.0:oob",
                {"X-Forwarded-For: " + ip, "Content-Type: application/x-www-form-urlencoded"});
  };
  auto user_write = [&] {
    return http("POST", d->url("/api/v1/statuses"), "status=hi",
                {"Authorization: Bearer " + alice.token, "X-Forwarded-For: " + ip,
                 "Content-Type: application/x-www-form-urlencoded"});
  };
  auto read = [&] { return as(ip, "/api/v1/instance"); };
  auto level = [&] { return metric("chorus_shed_level"); };
  ASSERT_TRUE(wait_until([&] { return level() == 0.0; })) << "the scheduler's first jobs have run";
  auto enqueue = [&](int n) {
    db.exec("INSERT INTO jobs (queue, kind) SELECT 'mail', 'chorus.noop' FROM generate_series(1, " + std::to_string(n) + ")");
  };
  enqueue(1);
  ASSERT_TRUE(wait_until([&] { return level() == 1.0; }));
  auto shed = anon_write();
  EXPECT_EQ(shed.status, 503);
  EXPECT_GE(std::stoi(shed.header("retry-after")), 1);
  EXPECT_EQ(shed.json().value("error", ""), "Service overloaded, retry later");
  EXPECT_EQ(user_write().status, 200) << "authenticated writes still go through";
  EXPECT_EQ(read().status, 200);
  enqueue(1);
  ASSERT_TRUE(wait_until([&] { return level() == 2.0; }));
  EXPECT_EQ(user_write().status, 503);
  EXPECT_EQ(read().status, 200) << "reads last";
  enqueue(2);
  ASSERT_TRUE(wait_until([&] { return level() == 3.0; }));
  EXPECT_EQ(read().status, 503);
  EXPECT_EQ(get(d->url("/health")).status, 200) << "health is never shed";
  db.exec("DELETE FROM jobs WHERE queue = 'mail'");
  ASSERT_TRUE(wait_until([&] { return level() == 0.0; }));
  EXPECT_EQ(anon_write().status, 200) << "back to normal once the backlog is gone";
}
