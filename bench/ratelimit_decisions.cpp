// Decisions per second of the rate-limit shard actors (issue #6), for the
// rate_limit bench scenario: C closed-loop clients (each starts its next check
// from the reply of its last) over K keys, for S seconds, with budgets shared
// through Redis or kept on this node. Leases are off, so every shared decision
// is a Redis script call (batched per shard); keys are spread so that no bucket
// runs dry. Prints one line:
//   chorus <shared|local> concurrency=C keys=K decisions=N seconds=S rate=R p50_us=.. p99_us=..
//
// usage: bench_ratelimit_decisions shared|local REDIS_PORT CONCURRENCY KEYS SECONDS [SHARDS]
#include "actors/ratelimit/limiter.hpp"
#include "actors/registry/registry.hpp"
#include "common/metrics.hpp"

#include <algorithm>
#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace chorus;
using namespace chorus::actors;
using clock_type = std::chrono::steady_clock;

namespace {

struct run_state {
  std::shared_ptr<limiter> lim;
  std::vector<std::string> keys;
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> next_key{0};
  std::atomic<int> live{0};
  std::mutex mtx;
  std::vector<std::int64_t> latencies_ns;  // sampled
};

void issue(const std::shared_ptr<run_state>& st) {
  if (st->stop) {
    --st->live;
    return;
  }
  auto k = st->next_key.fetch_add(1, std::memory_order_relaxed) % st->keys.size();
  auto started = clock_type::now();
  st->lim->check({0, st->keys[k], 1, [st, started](const ratelimit::decision&) {
                    if (st->measuring) {
                      auto n = st->done.fetch_add(1, std::memory_order_relaxed);
                      if (n % 16 == 0) {
                        std::lock_guard<std::mutex> g(st->mtx);
                        st->latencies_ns.push_back((clock_type::now() - started).count());
                      }
                    }
                    issue(st);
                  },
                  true});
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::fprintf(stderr, "usage: bench_ratelimit_decisions shared|local REDIS_PORT CONCURRENCY KEYS SECONDS [SHARDS]\n");
    return 2;
  }
  std::string mode = argv[1];
  int port = std::stoi(argv[2]), concurrency = std::stoi(argv[3]), keys = std::stoi(argv[4]);
  double seconds = std::stod(argv[5]);
  actor_registry reg{"bench"};  // outlives the actor system (actors leave it when they end)
  metrics::registry metrics;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  limiter_options lo;
  lo.redis_port = port;
  lo.policies = {{"bench", 1'000'000'000, 3'600'000}};  // never runs dry
  lo.shared = mode == "shared";
  lo.lease_tokens = 0;
  if (argc == 7)
    lo.shards = static_cast<std::size_t>(std::stoul(argv[6]));
  auto st = std::make_shared<run_state>();
  st->lim = spawn_limiter(sys, lo, reg, &metrics);
  for (int i = 0; i < keys; ++i)
    st->keys.push_back("ip:bench-" + std::to_string(clock_type::now().time_since_epoch().count() % 100000) + "-" +
                       std::to_string(i));
  st->live = concurrency;
  for (int i = 0; i < concurrency; ++i)
    issue(st);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // warm-up (script loaded, connections up)
  st->measuring = true;
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  st->measuring = false;
  auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  auto n = st->done.load();
  st->stop = true;
  while (st->live > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::vector<std::int64_t> lat;
  {
    std::lock_guard<std::mutex> g(st->mtx);
    lat = st->latencies_ns;
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) { return lat.empty() ? 0.0 : lat[static_cast<std::size_t>(q * (lat.size() - 1))] / 1000.0; };
  std::printf("chorus %s concurrency=%d keys=%d decisions=%llu seconds=%.2f rate=%.0f p50_us=%.0f p99_us=%.0f\n",
              mode.c_str(), concurrency, keys, static_cast<unsigned long long>(n), secs, n / secs, pct(0.5), pct(0.99));
  std::fflush(stdout);
  st->lim->stop();
  st->lim.reset();
  sys.await_all_actors_done();
  return 0;
}
