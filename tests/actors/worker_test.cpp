// The detached-worker pattern (actors/workers/worker.hpp) under CAF's
// deterministic test coordinator. The worker is spawned on the scheduler (not
// detached) with a resource that never blocks, so each reconnect delay is a
// timeout on the coordinator's clock: the test reads it, compares it with the
// backoff ceiling and with the draw of a generator seeded as the worker's was,
// and fires it — no waiting.
#define CAF_SUITE worker
#include "actors/workers/worker.hpp"

#include "actors/protocol/local.hpp"

#include <caf/send.hpp>
#include <caf/test/dsl.hpp>
#include <memory>
#include <random>

using namespace chorus;
using namespace chorus::actors;
using std::chrono::milliseconds;

namespace {

// What the test resource does, shared with the test.
struct resource_script {
  int refusals = 0;  // the next this many opens fail
  int opens = 0;     // attempts so far
  bool open = false;
};

// Opens unless refused; a job that throws errc::unavailable loses it.
struct flaky_resource {
  using job_type = blocking_call;
  static inline const char* actor_name = "test.flaky_worker";
  std::shared_ptr<resource_script> script;

  bool is_open() const { return script->open; }
  void open() {
    ++script->opens;
    if (script->refusals > 0) {
      --script->refusals;
      throw failure(errc::unavailable, "connection refused");
    }
    script->open = true;
  }
  void run(blocking_call& call) {
    if (!is_open())
      open();
    try {
      call.run();
    } catch (const failure& f) {
      if (f.code() == errc::unavailable)
        script->open = false;
      throw;
    }
  }
};

// One report of the worker to its manager.
struct report {
  bool done;  // done_atom (else conn_atom)
  std::uint32_t worker;
  std::uint64_t id;
  bool open;
  errc code;
};

worker_sink::behavior_type recorder(worker_sink::pointer, std::shared_ptr<std::vector<report>> out) {
  return {
    [=](done_atom, std::uint32_t w, std::uint64_t id, bool open, caf::error& err) {
      out->push_back({true, w, id, open, code_of(err)});
    },
    [=](conn_atom, std::uint32_t w, bool open) { out->push_back({false, w, 0, open, errc::ok}); },
  };
}

struct fixture : test_coordinator_fixture<> {
  backoff_policy policy{milliseconds(100), milliseconds(1'000)};
  std::uint64_t seed = 42;
  std::mt19937_64 reference{seed};  // draws what the worker must draw
  std::shared_ptr<resource_script> script = std::make_shared<resource_script>();
  std::shared_ptr<std::vector<report>> reports = std::make_shared<std::vector<report>>();
  worker_sink sink = sys.spawn(recorder, reports);
  worker_handle<flaky_resource> worker;

  void start(int refusals) {
    script->refusals = refusals;
    worker_options o;
    o.index = 3;
    o.reconnect = policy;
    o.seed = seed;
    worker = sys.spawn(run_worker<flaky_resource>, sink, flaky_resource{script}, o, nullptr);
    consume_messages();
  }
  // The delay of the next timeout on the coordinator's clock.
  milliseconds next_delay() {
    auto& clk = sched.clock();
    CAF_REQUIRE(clk.has_pending_timeout());
    return std::chrono::duration_cast<milliseconds>(clk.schedule().begin()->first - clk.now());
  }
  // Fires the next timeout (a reconnect attempt) and runs what follows.
  void fire() {
    CAF_REQUIRE(trigger_timeout());
    consume_messages();
  }
  void job(std::uint64_t id, std::function<void()> fn) {
    caf::anon_send(worker, id, blocking_call{"test", std::move(fn)});
    consume_messages();
  }
  const report& last() {
    CAF_REQUIRE(!reports->empty());
    return reports->back();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(worker_tests, fixture)

CAF_TEST(a resource that fails to open N times is retried within the backoff ceilings then serves jobs) {
  constexpr int refusals = 6;
  start(refusals);
  // The first attempt is immediate (at spawn) and fails: reported down.
  CAF_CHECK_EQUAL(script->opens, 1);
  CAF_CHECK(!last().done);
  CAF_CHECK(!last().open);
  CAF_CHECK_EQUAL(last().worker, 3u);
  // Attempt n comes after a draw from [0, min(cap, base * 2^(n-1))]: 100, 200,
  // 400, 800, 1000, 1000 ms ceilings, exactly the seeded generator's draws.
  for (int attempt = 1; attempt <= refusals; ++attempt) {
    auto d = next_delay();
    CAF_CHECK_GREATER_OR_EQUAL(d.count(), 0);
    CAF_CHECK_LESS_OR_EQUAL(d.count(), backoff_ceiling(policy, attempt).count());
    CAF_CHECK_EQUAL(d.count(), backoff_delay(policy, attempt, reference).count());
    auto before = reports->size();
    fire();
    CAF_CHECK_EQUAL(script->opens, attempt + 1);
    CAF_REQUIRE_EQUAL(reports->size(), before + 1);  // each attempt reports the connection state
    CAF_CHECK_EQUAL(last().open, attempt == refusals);
  }
  CAF_CHECK(script->open);
  CAF_CHECK(!sched.clock().has_pending_timeout());  // no further attempt once open
  // Now it serves jobs.
  bool ran = false;
  job(7, [&] { ran = true; });
  CAF_CHECK(ran);
  CAF_CHECK(last().done);
  CAF_CHECK_EQUAL(last().id, 7u);
  CAF_CHECK(last().open);
  CAF_CHECK(last().code == errc::ok);
  CAF_CHECK_EQUAL(script->opens, refusals + 1);
}

CAF_TEST(a job that loses the resource fails and the backoff starts over) {
  start(2);
  fire();
  fire();
  CAF_REQUIRE(script->open);
  (void) backoff_delay(policy, 1, reference);  // the worker's draws so far: attempts 1 and 2
  (void) backoff_delay(policy, 2, reference);
  job(1, [] { throw failure(errc::unavailable, "server closed the connection"); });
  CAF_REQUIRE_EQUAL(reports->size(), 5u);
  auto lost = (*reports)[3];
  CAF_CHECK(!lost.done);
  CAF_CHECK(!lost.open);  // the connection's loss comes before the job's end
  CAF_CHECK(last().done);
  CAF_CHECK_EQUAL(last().id, 1u);
  CAF_CHECK(!last().open);
  CAF_CHECK(last().code == errc::unavailable);
  // The count of attempts started over when it opened: attempt 1's ceiling again.
  auto d = next_delay();
  CAF_CHECK_LESS_OR_EQUAL(d.count(), backoff_ceiling(policy, 1).count());
  CAF_CHECK_EQUAL(d.count(), backoff_delay(policy, 1, reference).count());
  // A job's own failure that leaves the resource open is only the job's.
  script->open = true;
  job(2, [] { throw failure(errc::conflict, "duplicate"); });
  CAF_CHECK(last().code == errc::conflict);
  CAF_CHECK(last().open);
}

CAF_TEST(a job that finds the resource down opens it inline) {
  start(1);
  CAF_REQUIRE(!script->open);
  CAF_REQUIRE(sched.clock().has_pending_timeout());
  bool ran = false;
  job(9, [&] { ran = true; });  // before the reconnect timer: opens first, then runs
  CAF_CHECK(ran);
  CAF_CHECK_EQUAL(script->opens, 2);
  CAF_REQUIRE_EQUAL(reports->size(), 3u);
  CAF_CHECK(!(*reports)[1].done);
  CAF_CHECK((*reports)[1].open);  // up, then the job's end
  CAF_CHECK(last().done);
  CAF_CHECK(last().open);
  fire();  // the timer finds it open: no attempt, no report
  CAF_CHECK_EQUAL(script->opens, 2);
  CAF_CHECK_EQUAL(reports->size(), 3u);
}

CAF_TEST(while the resource stays down jobs fail at once and the delays stay under the cap) {
  start(1'000);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    CAF_CHECK_LESS_OR_EQUAL(next_delay().count(), policy.cap.count());
    fire();
  }
  job(1, [] {});
  CAF_CHECK(last().done);
  CAF_CHECK(last().code == errc::unavailable);
  CAF_CHECK_EQUAL(sched.clock().schedule().size(), 1u);  // a failed inline open adds no second timer
}

CAF_TEST_FIXTURE_SCOPE_END()
