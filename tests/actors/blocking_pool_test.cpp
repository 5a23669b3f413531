// The blocking pool, a manager of detached workers (actors/workers/), on a real
// actor system: its bound refuses with errc::overloaded, a queued job runs once a
// worker is free, and a job's exception is that job's error. Messages from one
// sender arrive in order, so the queue's state is known without waiting; the
// one blocking job waits on a gate the test opens (with a deadline of its own).
#define CAF_SUITE blocking_pool
#include "actors/workers/blocking_pool.hpp"

#include "actors/protocol/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/test/unit_test.hpp>
#include <future>
#include <map>

using namespace chorus;
using namespace chorus::actors;
using namespace std::chrono_literals;

namespace {

// The registry outlives the actor system (actors leave it when they end).
struct registries {
  actor_registry reg{"test-node"};
};

struct fixture : registries {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  blocking_pool_actor pool;
  std::promise<void> gate;  // opened by the test, or at the latest by the fixture's end
  std::shared_future<void> opened = gate.get_future().share();
  bool gate_open = false;

  fixture() { pool = spawn_blocking_pool(sys, {"test", 1, 2, std::chrono::seconds(30)}, reg); }
  ~fixture() {
    open_gate();
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
  }
  void open_gate() {
    if (!gate_open)
      gate.set_value();
    gate_open = true;
  }
  blocking_call blocked() {
    return {"blocked", [g = opened] { g.wait_for(30s); }};
  }
  std::map<std::string, std::int64_t> counters() {
    for (auto& a : reg.snapshot())
      if (a.kind == "blocking_pool")
        return a.counters;
    return {};
  }
};

// The outcome of a request: ok (errc::ok) or the error's code.
template <class Handle>
errc outcome(Handle& h) {
  errc out = errc::internal;
  h.receive([&](ok_atom) { out = errc::ok; }, [&](caf::error& e) { out = code_of(e); });
  return out;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(blocking_pool_tests, fixture)

CAF_TEST(past its bound the pool refuses with overloaded and runs the queued jobs later) {
  caf::scoped_actor self{sys};
  bool b_ran = false, c_ran = false;
  auto a = self->request(pool, 30s, blocked());                                    // runs: the only worker is busy
  auto b = self->request(pool, 30s, blocking_call{"b", [&] { b_ran = true; }});   // queued (1 of 2)
  auto c = self->request(pool, 30s, blocking_call{"c", [&] { c_ran = true; }});   // queued (2 of 2)
  auto d = self->request(pool, 30s, blocking_call{"d", [] {}});                   // no room
  CAF_CHECK(outcome(d) == errc::overloaded);
  auto n = counters();
  CAF_CHECK_EQUAL(n["rejected"], 1);
  CAF_CHECK_EQUAL(n["busy"], 1);
  CAF_CHECK_EQUAL(n["queued"], 2);
  CAF_CHECK(!b_ran && !c_ran);
  open_gate();
  CAF_CHECK(outcome(a) == errc::ok);
  CAF_CHECK(outcome(b) == errc::ok);
  CAF_CHECK(outcome(c) == errc::ok);
  CAF_CHECK(b_ran && c_ran);
  n = counters();
  CAF_CHECK_EQUAL(n["queued"], 0);
  CAF_CHECK_EQUAL(n["rejected"], 1);
  CAF_CHECK_EQUAL(n["expired"], 0);
}

CAF_TEST(a job that throws fails alone and the worker keeps serving) {
  open_gate();
  caf::scoped_actor self{sys};
  auto bad = self->request(pool, 30s, blocking_call{"bad", [] { throw failure(errc::unprocessable, "no"); }});
  CAF_CHECK(outcome(bad) == errc::unprocessable);
  auto good = self->request(pool, 30s, blocking_call{"good", [] {}});
  CAF_CHECK(outcome(good) == errc::ok);
  CAF_CHECK_EQUAL(counters()["errors"], 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
