#define CAF_SUITE registry
#include "actors/registry/registry.hpp"

#include <caf/test/dsl.hpp>

using namespace chorus;
using namespace chorus::actors;

namespace {

struct counting_state {
  std::shared_ptr<actor_stats> stats;
};

caf::behavior counting(caf::stateful_actor<counting_state>* self, actor_registry* reg) {
  self->state.stats = reg->enlist(self, "test_kind", "one", {"seen"});
  return {
    [=](int) {
      observe(self, *self->state.stats);
      self->state.stats->add(0);
    },
  };
}

// The registry must outlive the actor system, so it lives in an earlier base.
struct registry_holder {
  actor_registry reg{"test-node"};
};

struct fixture : registry_holder, test_coordinator_fixture<> {};

} // namespace

CAF_TEST_FIXTURE_SCOPE(registry_tests, fixture)

CAF_TEST(actors are listed while alive and removed when they terminate) {
  auto a = sys.spawn(counting, &reg);
  run();
  CAF_REQUIRE_EQUAL(reg.size(), 1u);
  auto snap = reg.snapshot();
  CAF_CHECK_EQUAL(snap[0].kind, "test_kind");
  CAF_CHECK_EQUAL(snap[0].name, "one");
  CAF_CHECK_EQUAL(snap[0].id, a.id());
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK_EQUAL(reg.size(), 0u);
}

CAF_TEST(counters and mailbox high water are recorded) {
  auto a = sys.spawn(counting, &reg);
  run();
  for (int i = 0; i < 5; ++i)
    self->send(a, i);
  run();
  auto snap = reg.snapshot();
  CAF_REQUIRE_EQUAL(snap.size(), 1u);
  CAF_CHECK_EQUAL(snap[0].processed, 5u);
  CAF_CHECK_EQUAL(snap[0].counters["seen"], 5);
  // The first message saw the other four still waiting.
  CAF_CHECK_EQUAL(snap[0].mailbox_high_water, 4u);
  CAF_CHECK_EQUAL(snap[0].mailbox, 0u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

CAF_TEST(metrics export counts actors by kind) {
  metrics::registry m;
  reg.export_metrics(m);
  auto a = sys.spawn(counting, &reg);
  auto b = sys.spawn(counting, &reg);
  run();
  auto text = m.render();
  CAF_CHECK(text.find("chorus_actors{kind=\"test_kind\"} 2\n") != std::string::npos);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  run();
  CAF_CHECK(m.render().find("chorus_actors{kind=\"test_kind\"}") == std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
