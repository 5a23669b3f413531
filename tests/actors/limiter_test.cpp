// The rate limiter's per-node fallback (issue #6) with an injected clock: the
// shards are spawned in shared mode against a Redis port that refuses every
// connection, so each decision is the local GCRA, and the test moves the clock
// itself. The shards are detached actors on a real actor system (the test
// coordinator does not drive detached actors); each reply arrives on a shard's
// thread and is awaited through a future with a deadline, never a sleep.
#define CAF_SUITE ratelimit_limiter
#include "actors/ratelimit/limiter.hpp"
#include "common/metrics.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/test/dsl.hpp>
#include <future>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

using namespace chorus;
using namespace chorus::actors;
using namespace std::chrono_literals;

namespace {

// A loopback port bound but never listened on: connecting is refused at once,
// and no other process can take the port while the test holds it.
class refusing_port {
public:
  refusing_port() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot bind a loopback port");
    port_ = ntohs(addr.sin_port);
  }
  ~refusing_port() { ::close(fd_); }
  refusing_port(const refusing_port&) = delete;
  refusing_port& operator=(const refusing_port&) = delete;
  int port() const noexcept { return port_; }

private:
  int fd_;
  int port_ = 0;
};

constexpr std::int64_t second_us = 1'000'000;
constexpr std::int64_t start_us = 1'700'000'000 * second_us;  // any fixed instant

// The registries must outlive the actor system (shards leave them when they end).
struct registries {
  actor_registry reg{"test-node"};
  metrics::registry metrics;
};

struct fixture : registries {
  refusing_port redis;
  std::shared_ptr<std::atomic<std::int64_t>> now = std::make_shared<std::atomic<std::int64_t>>(start_us);
  ratelimit::policy policy{"burst", 5, 10'000};  // 5 per 10 s: one token every 2 s
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<limiter> lim;

  fixture() {
    limiter_options lo;
    lo.policies = {policy};
    lo.shards = 2;
    lo.shared = true;  // Redis is meant to be used: what is tested is the fallback
    lo.redis_port = redis.port();
    lo.reconnect = {std::chrono::hours(1), std::chrono::hours(1)};  // after the first failure, no retry
    lo.lease_tokens = 0;
    lo.now_us = [clock = now] { return clock->load(); };
    lim = spawn_limiter(sys, lo, reg, &metrics);
  }
  ~fixture() { lim->stop(); }  // then the actor system joins the shards' threads

  // One check of `cost` for `key`, answered on the shard's thread.
  ratelimit::decision decide(const std::string& key, std::int64_t cost = 1) {
    auto reply = std::make_shared<std::promise<ratelimit::decision>>();
    auto answer = reply->get_future();
    lim->check({0, key, cost, [reply](const ratelimit::decision& d) { reply->set_value(d); }, true});
    if (answer.wait_for(10s) != std::future_status::ready)
      CAF_FAIL("the limiter did not answer " << key << " (cost " << cost << ") within 10 s");
    return answer.get();
  }
  void advance(std::int64_t us) { now->fetch_add(us); }

  std::uint64_t metric(const std::string& name, const metrics::labels& ls = {}) {
    return metrics.get_counter(name, "", ls).value();
  }
  // A counter summed over the limiter's shards.
  std::int64_t shard_counter(const std::string& name) {
    std::int64_t sum = 0;
    for (auto& a : reg.snapshot())
      if (a.kind == "ratelimit")
        sum += a.counters[name];
    return sum;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(limiter_fallback_tests, fixture)

CAF_TEST(with redis unreachable the local bucket follows the injected clock exactly) {
  const std::string key = "ip:203.0.113.7";
  // A full bucket: exactly 5, each moving the bucket one interval (2 s) on.
  for (std::int64_t i = 0; i < 5; ++i) {
    auto d = decide(key);
    CAF_REQUIRE(d.allowed);
    CAF_CHECK_EQUAL(d.limit, 5);
    CAF_CHECK_EQUAL(d.remaining, 4 - i);
    CAF_CHECK_EQUAL(d.reset_us, (i + 1) * 2 * second_us);
  }
  auto refused = decide(key);
  CAF_CHECK(!refused.allowed);
  CAF_CHECK_EQUAL(refused.remaining, 0);
  CAF_CHECK_EQUAL(refused.retry_after_us, 2 * second_us);
  CAF_CHECK_EQUAL(refused.reset_us, 10 * second_us);
  CAF_CHECK_EQUAL(metric("chorus_ratelimit_fallback_total"), 6u);

  // Half an interval later: still refused, for the other half.
  advance(1 * second_us);
  refused = decide(key);
  CAF_CHECK(!refused.allowed);
  CAF_CHECK_EQUAL(refused.retry_after_us, 1 * second_us);
  CAF_CHECK_EQUAL(refused.reset_us, 9 * second_us);

  // One interval after the bucket ran dry: exactly one more.
  advance(1 * second_us);
  auto again = decide(key);
  CAF_CHECK(again.allowed);
  CAF_CHECK_EQUAL(again.remaining, 0);
  CAF_CHECK_EQUAL(again.reset_us, 10 * second_us);
  refused = decide(key);
  CAF_CHECK(!refused.allowed);
  CAF_CHECK_EQUAL(refused.retry_after_us, 2 * second_us);

  // A refund (a request answered 5xx) gives exactly one back, at the same instant.
  decide(key, -1);
  auto refunded = decide(key);
  CAF_CHECK(refunded.allowed);
  CAF_CHECK_EQUAL(refunded.remaining, 0);
  refused = decide(key);
  CAF_CHECK(!refused.allowed);
  CAF_CHECK_EQUAL(refused.retry_after_us, 2 * second_us);

  // A whole period after the last token was taken the bucket is full again.
  advance(10 * second_us);
  auto full = decide(key);
  CAF_CHECK(full.allowed);
  CAF_CHECK_EQUAL(full.remaining, 4);
  CAF_CHECK_EQUAL(full.reset_us, 2 * second_us);

  // Another client has a bucket of its own.
  auto other = decide("ip:203.0.113.8");
  CAF_CHECK(other.allowed);
  CAF_CHECK_EQUAL(other.remaining, 4);

  // Every decision was the node's own: 13 decisions, of which 4 refusals, and a
  // refund, which is not a decision in any counter.
  CAF_CHECK_EQUAL(metric("chorus_ratelimit_decisions_total", {{"policy", "burst"}, {"result", "allowed"}}), 9u);
  CAF_CHECK_EQUAL(metric("chorus_ratelimit_decisions_total", {{"policy", "burst"}, {"result", "denied"}}), 4u);
  CAF_CHECK_EQUAL(metric("chorus_ratelimit_fallback_total"), 13u);
  CAF_CHECK_EQUAL(shard_counter("decisions"), 13);
  CAF_CHECK_EQUAL(shard_counter("denied"), 4);
  CAF_CHECK_EQUAL(shard_counter("fallbacks"), 13);
}

CAF_TEST_FIXTURE_SCOPE_END()
