// The handler → actor bridge (http/ask.hpp) under the deterministic scheduler:
// replies reach the responder, errors map to JSON errors, timeouts become 503.
#define CAF_SUITE ask
#include "actors/protocol/errors.hpp"
#include "http/ask.hpp"
#include "http/responder.hpp"

#include <caf/test/dsl.hpp>
#include <nlohmann/json.hpp>

using namespace chorus;

namespace {

// Stands for the connection's strand: continuations queue here until the test
// runs them, as the session's strand would on an HTTP thread.
struct recording_sink : http::reply_sink {
  std::vector<http::response> got;
  std::vector<std::function<void()>> strand;
  void deliver(http::response r) override { got.push_back(std::move(r)); }
  void post(std::function<void()> fn) override { strand.push_back(std::move(fn)); }
  void run_strand() {
    auto tasks = std::move(strand);
    strand.clear();
    for (auto& t : tasks)
      t();
  }
};

using echo_actor = caf::typed_actor<caf::replies_to<int>::with<int>>;

// Doubles positive numbers, fails on negatives, never answers zero.
echo_actor::behavior_type echo(echo_actor::pointer self) {
  return {
    [=](int x) -> caf::result<int> {
      if (x > 0)
        return x * 2;
      if (x < 0)
        return actors::make_error(errc::not_found, "no such thing");
      return self->make_response_promise<int>();
    },
  };
}

struct fixture : test_coordinator_fixture<> {
  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
  echo_actor dest = sys.spawn(echo);

  void ask_for(int x) {
    http::responder res(sink);
    http::ask(sys, res, dest, std::chrono::milliseconds(500),
              [res](int y) { res.json(200, {{"value", y}}); }, x);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(ask_tests, fixture)

CAF_TEST(reply reaches the responder) {
  ask_for(21);
  run();
  // The continuation did not run on the actor's thread: it waits for the strand.
  CAF_CHECK_EQUAL(sink->got.size(), 0u);
  CAF_REQUIRE_EQUAL(sink->strand.size(), 1u);
  sink->run_strand();
  CAF_REQUIRE_EQUAL(sink->got.size(), 1u);
  CAF_CHECK_EQUAL(sink->got[0].status, 200);
  CAF_CHECK_EQUAL(nlohmann::json::parse(sink->got[0].body)["value"].get<int>(), 42);
}

CAF_TEST(actor errors become mapped JSON errors) {
  ask_for(-1);
  run();
  sink->run_strand();
  CAF_REQUIRE_EQUAL(sink->got.size(), 1u);
  CAF_CHECK_EQUAL(sink->got[0].status, 404);
  CAF_CHECK_EQUAL(nlohmann::json::parse(sink->got[0].body)["error_description"].get<std::string>(),
                  "no such thing");
}

CAF_TEST(a request that is never answered times out with 503 and Retry-After) {
  ask_for(0);
  run();  // consumes the messages, then fires the request timeout
  sink->run_strand();
  CAF_REQUIRE_EQUAL(sink->got.size(), 1u);
  CAF_CHECK_EQUAL(sink->got[0].status, 503);
  bool retry_after = false;
  for (auto& [k, v] : sink->got[0].headers)
    retry_after |= k == "Retry-After";
  CAF_CHECK(retry_after);
}

CAF_TEST(a dead actor yields 503 not a hang) {
  caf::anon_send_exit(dest, caf::exit_reason::kill);
  run();
  ask_for(5);
  run();
  sink->run_strand();
  CAF_REQUIRE_EQUAL(sink->got.size(), 1u);
  CAF_CHECK_EQUAL(sink->got[0].status, 503);
}

CAF_TEST_FIXTURE_SCOPE_END()
