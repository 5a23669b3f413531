// The node's lifecycle (actors/system/lifecycle.hpp) on a real actor system:
// stop steps run newest first, and each actor has ended before the next step.
#define CAF_SUITE lifecycle
#include "actors/system/lifecycle.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/test/unit_test.hpp>
#include <mutex>

using namespace chorus;

namespace {

struct journal {
  std::mutex mtx;
  std::vector<std::string> events;
  void add(std::string e) {
    std::lock_guard<std::mutex> g(mtx);
    events.push_back(std::move(e));
  }
};

// An actor that records its end when asked to exit (before its down message).
caf::behavior recorder(caf::event_based_actor* self, std::shared_ptr<journal> j, std::string name) {
  self->set_exit_handler([self, j, name](caf::exit_msg& msg) {
    j->add("ended " + name);
    self->quit(msg.reason);
  });
  return {[](int x) { return x; }};
}

} // namespace

CAF_TEST(stop steps run in reverse order and each actor ends before the next step) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto j = std::make_shared<journal>();
  {
    actors::lifecycle life{sys};
    life.started("pool", sys.spawn(recorder, j, "pool"));
    life.on_stop("threads", [j] { j->add("joined threads"); });
    life.started("cache", sys.spawn(recorder, j, "cache"));
    life.started("node", sys.spawn(recorder, j, "node"));
    CAF_CHECK_EQUAL(life.size(), 4u);
    auto order = life.stop_all(std::chrono::seconds(10));
    CAF_CHECK_EQUAL(order, (std::vector<std::string>{"node", "cache", "threads", "pool"}));
    CAF_CHECK_EQUAL(life.size(), 0u);
    // stop_all awaited each actor's down message: the ends are already recorded, in order.
    std::lock_guard<std::mutex> g(j->mtx);
    CAF_CHECK_EQUAL(j->events,
                    (std::vector<std::string>{"ended node", "ended cache", "joined threads", "ended pool"}));
  }
  sys.await_all_actors_done();
}

CAF_TEST(an actor that already ended does not hold up the others) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto j = std::make_shared<journal>();
  actors::lifecycle life{sys};
  auto early = sys.spawn(recorder, j, "early");
  life.started("early", early);
  life.started("late", sys.spawn(recorder, j, "late"));
  caf::anon_send_exit(early, caf::exit_reason::kill);
  auto t0 = std::chrono::steady_clock::now();
  life.stop_all(std::chrono::seconds(10));
  CAF_CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  std::lock_guard<std::mutex> g(j->mtx);
  CAF_CHECK_EQUAL(j->events, (std::vector<std::string>{"ended late"}));  // kill skips the exit handler
}
