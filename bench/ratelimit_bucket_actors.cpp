// Issue #6 asks whether each active (policy, key) bucket should be an actor or
// whether shard actors holding many buckets are faster. This program measures
// both designs in one process and one run, on node-local decisions (the GCRA of
// common/gcra.hpp, no Redis):
//   shards         spawn_limiter with shared=false and leases off, exactly as
//                  bench_ratelimit_decisions runs it in `local` mode: 4 detached
//                  shards, bucket (policy, key) in shard hash(key) % 4, each
//                  shard's TATs in one hash map.
//   bucket_actors  one event-based (scheduled) CAF actor per bucket holding one
//                  TAT, spawned on first use (lazy_init: its first message runs
//                  its initialisation). The directory key → actor is a map split
//                  into 64 stripes, each under its own mutex: one uncontended lock
//                  and one hash lookup on the caller's thread, then the check goes
//                  straight to the bucket's mailbox. A directory *actor* would put
//                  every check through one more mailbox (and one more thread hop)
//                  before the bucket's, and would be a single serial point like a
//                  shard without the state, so the striped map is the fastest
//                  reasonable directory. Buckets count the same per-policy
//                  counters as the shards (shared atomics; a per-bucket registry
//                  entry would not be reasonable), reply through the same
//                  rl_check callback, and are never evicted here (a real server
//                  would also need idle buckets to end: a timer or a sweep per
//                  bucket, which this bench does not charge them for).
//   bucket_actors_detached (probe, fewer keys) the same actor spawned detached:
//                  a thread per bucket. A thread has an 8 MiB stack reservation
//                  and two memory mappings (stack + guard page); vm.max_map_count
//                  (65,530 here) caps a process near 32k threads and
//                  kernel.threads-max / ulimit -u (~96k–190k here) cap it too,
//                  so 100,000 buckets cannot even be created, and 10,000 runnable
//                  threads on 2 cores is a scheduler benchmark, not a rate
//                  limiter. The probe measures what one detached bucket costs.
//
// Why only local decisions: with budgets in Redis both designs make the same
// script calls, and what decides throughput there is batching (one pipeline
// of GCRA scripts per shard batch; stack-notes: pipelined EVALSHA ~100k/s vs
// 17k/s one by one). A bucket actor owns one key, so it cannot batch on its
// own: it would have to hand its decision to a shared batching actor (one per
// Redis connection) and take the answer back — one more hop per decision than
// a shard, which is that batching actor already, holding the buckets it
// batches for. And a redisContext is not thread-safe, so the connection cannot
// live in the buckets. Per-bucket actors therefore cost, in the shared case,
// at least what they cost here plus one more message each way.
//
// Per configuration: the buckets are created first (one closed-loop pass of 64
// clients touching every key once: create_ms, and RSS from /proc/self/statm and
// malloc'd bytes from mallinfo2 before and after, per bucket), then closed-loop
// clients at concurrency C (each starts its next check from the reply of its
// last, keys in turn) run for SECONDS after 1 s of warm-up. One line each:
//   design=<d> concurrency=C keys=K decisions=N seconds=S rate=R p50_us=.. p99_us=..
//     create_ms=.. rss_bytes_per_bucket=.. heap_bytes_per_bucket=..
//     scheduler=.. clients=..
// then one ratio line per (concurrency, keys): bucket_actors / shards.
// The scheduler has as many threads as chorusd gives it (max(2, cores)); its
// policy is CAF's default work stealing (as chorusd) or work sharing. Clients:
//   reply  the next check starts from the reply, on the thread that decided
//          (as bench_ratelimit_decisions): a bucket actor's client is then a
//          CAF worker, already awake;
//   http   the reply posts its continuation to an io_context run by two
//          threads and the next check starts there, as chorusd's HTTP threads
//          do (the Beast bridge posts replies back to the connection's strand):
//          every check enters CAF from outside its scheduler.
//
// usage: bench_ratelimit_bucket_actors SECONDS [KEYS[,KEYS…]] [DETACHED_KEYS] [stealing|sharing] [reply|http]
//   defaults 10000,100000, 1000 (0: no detached probe), stealing, reply
#include "actors/ratelimit/limiter.hpp"
#include "actors/registry/registry.hpp"
#include "common/clock.hpp"
#include "common/gcra.hpp"
#include "common/metrics.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <malloc.h>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

using namespace chorus;
using namespace chorus::actors;
using clock_type = std::chrono::steady_clock;
using reply_fn = std::function<void(const ratelimit::decision&)>;

namespace {

// ---- memory -----------------------------------------------------------------

std::int64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

int threads_now() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Threads:", 0) == 0)
      return std::stoi(line.substr(8));
  return 0;
}

std::int64_t heap_bytes() {
  auto mi = mallinfo2();
  return static_cast<std::int64_t>(mi.uordblks + mi.hblkhd);
}

// ---- the designs ------------------------------------------------------------

// One design under test: sends one check of key `k`; `reply` runs wherever the
// bucket's decision is made.
class design {
public:
  virtual ~design() = default;
  virtual void check(const std::string& key, reply_fn reply) = 0;
  virtual void stop() = 0;
};

class shards_design : public design {
public:
  shards_design(caf::actor_system& sys, actor_registry& reg, metrics::registry& metrics,
                const std::vector<ratelimit::policy>& policies) {
    limiter_options lo;
    lo.policies = policies;
    lo.shared = false;
    lo.lease_tokens = 0;
    lim_ = spawn_limiter(sys, lo, reg, &metrics);
  }
  void check(const std::string& key, reply_fn reply) override { lim_->check({0, key, 1, std::move(reply), true}); }
  void stop() override {
    lim_->stop();
    lim_.reset();
  }

private:
  std::shared_ptr<limiter> lim_;
};

// What every bucket actor shares: the policies and the counters.
struct bucket_env {
  std::vector<ratelimit::policy> policies;
  std::shared_ptr<actor_stats> stats;              // decisions, denied (all buckets)
  std::vector<metrics::counter*> allowed, denied;  // by policy, as the shards count them
};

enum bucket_counter : std::size_t { b_decisions, b_denied };

struct bucket_state {
  static inline const char* name = "chorus.ratelimit_bucket";
  std::int64_t tat_us = 0;
};

caf::behavior bucket_fn(caf::stateful_actor<bucket_state>* self, std::shared_ptr<const bucket_env> env) {
  return {
    [=](rl_check& c) {
      const auto& p = env->policies[c.policy];
      auto now = wall_now_us();
      if (c.cost < 0) {
        ratelimit::gcra_refund(self->state.tat_us, now, p, -c.cost);
        ratelimit::decision d;
        d.limit = p.limit;
        if (c.reply)
          c.reply(d);
        return;
      }
      auto d = ratelimit::gcra(self->state.tat_us, now, p, c.cost);
      env->stats->add(b_decisions);
      if (!d.allowed)
        env->stats->add(b_denied);
      if (auto* m = (d.allowed ? env->allowed : env->denied)[c.policy])
        m->inc();
      if (c.reply)
        c.reply(d);
    },
  };
}

// key → bucket actor, spawned on first use; 64 stripes, each under its own mutex.
class bucket_directory {
public:
  bucket_directory(caf::actor_system& sys, std::shared_ptr<const bucket_env> env, bool detached)
    : sys_(sys), env_(std::move(env)), detached_(detached) {}

  caf::actor get(const std::string& id) {
    auto h = std::hash<std::string>{}(id);
    auto& s = stripes_[h % stripes_.size()];
    std::lock_guard<std::mutex> g(s.mtx);
    auto it = s.actors.find(id);
    if (it == s.actors.end())
      it = s.actors.emplace(id, detached_ ? sys_.spawn<caf::detached>(bucket_fn, env_)
                                          : sys_.spawn<caf::lazy_init>(bucket_fn, env_))
             .first;
    return it->second;
  }

  void stop() {
    for (auto& s : stripes_) {
      std::lock_guard<std::mutex> g(s.mtx);
      for (auto& [id, a] : s.actors)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
      s.actors.clear();
    }
  }

private:
  struct alignas(64) stripe {
    std::mutex mtx;
    std::unordered_map<std::string, caf::actor> actors;
  };
  caf::actor_system& sys_;
  std::shared_ptr<const bucket_env> env_;
  bool detached_;
  std::array<stripe, 64> stripes_;
};

class bucket_actors_design : public design {
public:
  bucket_actors_design(caf::actor_system& sys, metrics::registry& metrics,
                       const std::vector<ratelimit::policy>& policies, bool detached) {
    auto env = std::make_shared<bucket_env>();
    env->policies = policies;
    env->stats = std::make_shared<actor_stats>(std::vector<std::string>{"decisions", "denied"});
    for (const auto& p : policies) {
      const char* help = "Rate-limit decisions, by policy and result";
      env->allowed.push_back(
        &metrics.get_counter("chorus_ratelimit_decisions_total", help, {{"policy", p.name}, {"result", "allowed"}}));
      env->denied.push_back(
        &metrics.get_counter("chorus_ratelimit_decisions_total", help, {{"policy", p.name}, {"result", "denied"}}));
    }
    policy_ = policies.at(0);
    dir_ = std::make_unique<bucket_directory>(sys, std::move(env), detached);
  }
  void check(const std::string& key, reply_fn reply) override {
    caf::anon_send(dir_->get(bucket_id(policy_, key)), rl_check{0, key, 1, std::move(reply), true});
  }
  void stop() override { dir_->stop(); }

private:
  ratelimit::policy policy_;
  std::unique_ptr<bucket_directory> dir_;
};

// ---- closed-loop clients ----------------------------------------------------

struct run_state {
  design* d = nullptr;
  boost::asio::io_context* io = nullptr;  // clients=http: replies hop here, checks start here
  const std::vector<std::string>* keys = nullptr;
  std::uint64_t limit = 0;  // stop after this many checks were issued (0: never)
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> replies{0};
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
  auto n = st->next_key.fetch_add(1, std::memory_order_relaxed);
  if (st->limit > 0 && n >= st->limit) {
    --st->live;
    return;
  }
  const auto& key = (*st->keys)[n % st->keys->size()];
  auto started = clock_type::now();
  st->d->check(key, [st, started](const ratelimit::decision&) {
    auto finish = [st, started] {
      st->replies.fetch_add(1, std::memory_order_relaxed);
      if (st->measuring) {
        auto n = st->done.fetch_add(1, std::memory_order_relaxed);
        if (n % 16 == 0) {
          std::lock_guard<std::mutex> g(st->mtx);
          st->latencies_ns.push_back((clock_type::now() - started).count());
        }
      }
      issue(st);
    };
    if (st->io)
      boost::asio::post(*st->io, std::move(finish));
    else
      finish();
  });
}

// Starts `n` clients: on the caller's thread, or (clients=http) on the io threads.
void start(const std::shared_ptr<run_state>& st, int n) {
  st->live = n;
  for (int i = 0; i < n; ++i) {
    if (st->io)
      boost::asio::post(*st->io, [st] { issue(st); });
    else
      issue(st);
  }
}

void wait_idle(const std::shared_ptr<run_state>& st) {
  while (st->live > 0)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
}

struct creation {
  double ms = 0;
  double rss_per_bucket = 0;
  double heap_per_bucket = 0;
};

// Touches every key once (64 clients, closed loop): creates every bucket.
creation create_buckets(design& d, const std::vector<std::string>& keys, boost::asio::io_context* io) {
  malloc_trim(0);
  auto rss0 = rss_bytes();
  auto heap0 = heap_bytes();
  auto st = std::make_shared<run_state>();
  st->d = &d;
  st->keys = &keys;
  st->io = io;
  st->limit = keys.size();
  auto t0 = clock_type::now();
  start(st, static_cast<int>(std::min<std::size_t>(64, keys.size())));
  wait_idle(st);
  creation c;
  c.ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  auto n = static_cast<double>(keys.size());
  c.rss_per_bucket = (rss_bytes() - rss0) / n;
  c.heap_per_bucket = (heap_bytes() - heap0) / n;
  return c;
}

struct result {
  std::uint64_t decisions = 0;
  double seconds = 0, rate = 0, p50_us = 0, p99_us = 0;
};

result run(design& d, const std::vector<std::string>& keys, int concurrency, double seconds,
           boost::asio::io_context* io) {
  auto st = std::make_shared<run_state>();
  st->d = &d;
  st->keys = &keys;
  st->io = io;
  start(st, concurrency);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // warm-up
  st->measuring = true;
  auto t0 = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  st->measuring = false;
  result r;
  r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  r.decisions = st->done.load();
  st->stop = true;
  wait_idle(st);
  std::vector<std::int64_t> lat;
  {
    std::lock_guard<std::mutex> g(st->mtx);
    lat = st->latencies_ns;
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) { return lat.empty() ? 0.0 : lat[static_cast<std::size_t>(q * (lat.size() - 1))] / 1000.0; };
  r.rate = r.decisions / r.seconds;
  r.p50_us = pct(0.5);
  r.p99_us = pct(0.99);
  return r;
}

std::vector<std::string> make_keys(std::size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  auto salt = std::to_string(clock_type::now().time_since_epoch().count() % 100000);
  for (std::size_t i = 0; i < n; ++i)
    keys.push_back("ip:bench-" + salt + "-" + std::to_string(i));
  return keys;
}

std::vector<std::size_t> parse_list(const std::string& s) {
  std::vector<std::size_t> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty())
      out.push_back(std::stoul(item));
  return out;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 6) {
    std::fprintf(stderr, "usage: bench_ratelimit_bucket_actors SECONDS [KEYS[,KEYS...]] [DETACHED_KEYS] "
                         "[stealing|sharing] [reply|http]\n");
    return 2;
  }
  double seconds = std::stod(argv[1]);
  auto key_counts = parse_list(argc > 2 ? argv[2] : "10000,100000");
  std::size_t detached_keys = argc > 3 ? std::stoul(argv[3]) : 1000;
  std::string scheduler = argc > 4 ? argv[4] : "stealing";
  std::string clients = argc > 5 ? argv[5] : "reply";
  if ((scheduler != "stealing" && scheduler != "sharing") || (clients != "reply" && clients != "http")) {
    std::fprintf(stderr, "scheduler: stealing|sharing; clients: reply|http\n");
    return 2;
  }
  const std::vector<int> concurrencies{1, 64};

  // clients=http: two client threads, as chorusd's HTTP threads (a reply posts
  // its continuation there, as the Beast bridge does, and the next check starts
  // from there).
  boost::asio::io_context io_ctx;
  auto guard = boost::asio::make_work_guard(io_ctx);
  std::vector<std::thread> io_threads;
  boost::asio::io_context* io = nullptr;
  if (clients == "http") {
    io = &io_ctx;
    for (int i = 0; i < 2; ++i)
      io_threads.emplace_back([&io_ctx] { io_ctx.run(); });
  }

  actor_registry reg{"bench"};  // outlives the actor system (actors leave it when they end)
  metrics::registry metrics;
  caf::actor_system_config cfg;
  auto threads = std::max(2u, std::thread::hardware_concurrency());  // as chorusd
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(threads));
  cfg.set("scheduler.policy", caf::atom_from_string(scheduler));
  caf::actor_system sys{cfg};
  const std::vector<ratelimit::policy> policies{{"bench", 1'000'000'000, 3'600'000}};  // never runs dry

  std::map<std::pair<std::string, std::pair<int, std::size_t>>, std::pair<result, creation>> results;
  auto measure = [&](const std::string& name, std::size_t nkeys, const std::vector<int>& cs) {
    auto keys = make_keys(nkeys);
    auto base_threads = threads_now();
    std::unique_ptr<design> d;
    if (name == "shards")
      d = std::make_unique<shards_design>(sys, reg, metrics, policies);
    else
      d = std::make_unique<bucket_actors_design>(sys, metrics, policies, name == "bucket_actors_detached");
    auto c = create_buckets(*d, keys, io);
    for (int conc : cs) {
      auto r = run(*d, keys, conc, seconds, io);
      results[{name, {conc, nkeys}}] = {r, c};
      std::printf("design=%s concurrency=%d keys=%zu decisions=%llu seconds=%.2f rate=%.0f p50_us=%.1f p99_us=%.1f "
                  "create_ms=%.1f rss_bytes_per_bucket=%.0f heap_bytes_per_bucket=%.0f scheduler=%s clients=%s\n",
                  name.c_str(), conc, nkeys, static_cast<unsigned long long>(r.decisions), r.seconds, r.rate, r.p50_us,
                  r.p99_us, c.ms, c.rss_per_bucket, c.heap_per_bucket, scheduler.c_str(), clients.c_str());
      std::fflush(stdout);
    }
    d->stop();
    d.reset();
    sys.await_all_actors_done();  // every bucket and shard is gone before the next design starts
    // A detached actor leaves the running count before its thread has finished
    // its cleanup, which still needs the actor clock: if the system went away
    // now (CAF 0.17.6), the last detached threads would block forever.
    for (int i = 0; i < 10'000 && threads_now() > base_threads; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };

  std::printf("# scheduler=%s scheduler_threads=%u clients=%s cores=%u\n", scheduler.c_str(), threads,
              clients.c_str(), std::thread::hardware_concurrency());
  for (auto nkeys : key_counts)
    for (const char* name : {"shards", "bucket_actors"})
      measure(name, nkeys, concurrencies);
  if (detached_keys > 0)
    measure("bucket_actors_detached", detached_keys, concurrencies);

  for (auto nkeys : key_counts)
    for (int conc : concurrencies) {
      const auto& [s, sc] = results[{"shards", {conc, nkeys}}];
      const auto& [b, bc] = results[{"bucket_actors", {conc, nkeys}}];
      std::printf("ratio bucket_actors/shards concurrency=%d keys=%zu rate=%.2f p50=%.2f p99=%.2f create_ms=%.2f "
                  "rss_bytes_per_bucket=%.2f\n",
                  conc, nkeys, b.rate / s.rate, b.p50_us / s.p50_us, b.p99_us / s.p99_us, bc.ms / sc.ms,
                  sc.rss_per_bucket > 0 ? bc.rss_per_bucket / sc.rss_per_bucket : 0.0);
    }
  guard.reset();
  for (auto& t : io_threads)
    t.join();
  return 0;
}
