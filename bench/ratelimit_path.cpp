// The rate limiter's own cost per request (issue #6), for the rate_limit bench
// scenario: a route's handler called directly vs behind rate_limited()
// (http/ratelimit.hpp), by THREADS threads in a loop, in one process, with the
// real shard actors and Redis behind it. Every request comes from one client
// (198.51.100.7 through a trusted proxy), so after the first few its bucket is
// hot and decided from leases, as in the wrk part of the scenario. Leases are
// made large (100,000 tokens) because this loop asks millions of times a second,
// far above any HTTP rate: taking a token costs the same from any lease.
// The handler answers at once into a sink that drops the response, so the
// difference is what limiting adds on the request's own thread: the client
// address, the bucket key, the lease, the wrapping responder and five headers.
// Prints: ratelimit_path threads=T requests=N direct_ns=.. limited_ns=.. added_ns=..
//
// usage: bench_ratelimit_path REDIS_PORT THREADS SECONDS
#include "actors/ratelimit/limiter.hpp"
#include "actors/registry/registry.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "http/ratelimit.hpp"

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace chorus;
using clock_type = std::chrono::steady_clock;

namespace {

std::atomic<std::uint64_t> delivered{0};

class null_sink : public http::reply_sink {
public:
  void deliver(http::response r) override {
    if (r.status == 200 && !r.headers.empty())
      delivered.fetch_add(1, std::memory_order_relaxed);
  }
};

// ns per request of `fn` over `seconds`, from `threads` threads.
double measure(const http::handler_fn& fn, const http::request& tmpl, int threads, double seconds,
               std::uint64_t& requests) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> total{0};
  std::vector<std::thread> ts;
  auto t0 = clock_type::now();
  for (int i = 0; i < threads; ++i)
    ts.emplace_back([&] {
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int k = 0; k < 256; ++k) {
          auto req = tmpl;
          http::responder res(std::make_shared<null_sink>());
          fn(req, res);
        }
        n += 256;
      }
      total += n;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts)
    t.join();
  auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  requests = total.load();
  return secs * threads * 1e9 / static_cast<double>(requests);  // thread-ns per request
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench_ratelimit_path REDIS_PORT THREADS SECONDS\n");
    return 2;
  }
  int port = std::stoi(argv[1]), threads = std::stoi(argv[2]);
  double seconds = std::stod(argv[3]);
  log::set_level(log::level::warn);
  actors::actor_registry reg{"bench"};  // outlives the actor system
  metrics::registry metrics;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  ratelimit_config conf;
  conf.anon = "100000000/300";
  actors::limiter_options lo;
  lo.redis_port = port;
  lo.policies = rate_policies(conf);
  lo.shards = static_cast<std::size_t>(conf.shards);
  lo.lease_tokens = 100'000;
  lo.lease = std::chrono::milliseconds(conf.lease_ms);
  auto limits = std::make_shared<http::rate_limits>();
  limits->svc.limits = actors::spawn_limiter(sys, lo, reg, &metrics);
  limits->trusted_proxies = net::parse_cidrs("127.0.0.1");
  http::handler_fn direct = [](http::request&, const http::responder& res) {
    http::response r;
    r.body = R"({"uri":"chorus.example"})";
    res.send(std::move(r));
  };
  auto limited = http::rate_limited(limits, "GET", "/api/v1/instance", direct);
  http::request tmpl;
  tmpl.method = "GET";
  tmpl.target = tmpl.path = "/api/v1/instance";
  tmpl.remote_ip = "127.0.0.1";
  tmpl.headers = {{"host", "127.0.0.1:3000"}, {"user-agent", "wrk"}, {"x-forwarded-for", "198.51.100.7"}};
  // Warm-up: until the bucket is hot and its answers come from leases.
  std::uint64_t n = 0;
  measure(limited, tmpl, threads, 1.0, n);
  auto before = delivered.load();
  double d1 = measure(direct, tmpl, threads, seconds / 2, n);
  std::uint64_t nl = 0;
  double l1 = measure(limited, tmpl, threads, seconds / 2, nl);
  double d2 = measure(direct, tmpl, threads, seconds / 2, n);
  double l2 = measure(limited, tmpl, threads, seconds / 2, nl);
  auto with_headers = delivered.load() - before;
  double dn = (d1 + d2) / 2, ln = (l1 + l2) / 2;
  std::printf("ratelimit_path threads=%d requests=%llu direct_ns=%.0f limited_ns=%.0f added_ns=%.0f limited_with_headers=%llu\n",
              threads, static_cast<unsigned long long>(nl), dn, ln, ln - dn,
              static_cast<unsigned long long>(with_headers));
  std::fflush(stdout);
  // Requests that were decided by a shard answer later; let them end before stopping.
  for (auto last = delivered.load(); std::this_thread::sleep_for(std::chrono::milliseconds(200)), delivered.load() != last;)
    last = delivered.load();
  limits->svc.limits->stop();
  limits.reset();
  sys.await_all_actors_done();
  return 0;
}
