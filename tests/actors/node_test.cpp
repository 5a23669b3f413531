// The node actor's readiness decisions (actors/system/node.cpp), called
// directly. The actor itself (liveness, readiness, heartbeat) runs against the
// real pool, Postgres and Redis in tests/storage/node_pgtest.cpp.
#define CAF_SUITE node
#include "actors/system/node_state.hpp"
#include "tests/actors/checks.hpp"

using namespace chorus;
using namespace chorus::actors;

namespace {

storage::redis::reply status_reply(std::string text, bool error = false) {
  storage::redis::reply r;
  r.type = error ? storage::redis::reply::kind::error : storage::redis::reply::kind::status;
  r.str = std::move(text);
  return r;
}

} // namespace

// ---- Decisions, without an actor system ---------------------------------------

CAF_TEST(migrations are ready once the applied version reaches the expected one) {
  readiness r;
  r.expected_version = 12;
  node_rules::postgres_answered(r, 11);
  CAF_CHECK(r.postgres);
  CAF_CHECK_EQUAL(r.schema_version, 11);
  CAF_CHECK(!r.migrations);
  node_rules::postgres_answered(r, 12);
  CAF_CHECK(r.migrations);
}

CAF_TEST(redis is ready on a reply that is not an error) {
  readiness ok;
  node_rules::redis_answered(ok, redis_result{{status_reply("PONG")}});
  CAF_CHECK(ok.redis);
  readiness err;
  node_rules::redis_answered(err, redis_result{{status_reply("LOADING dataset", true)}});
  CAF_CHECK(!err.redis);
  CAF_CHECK_EQUAL(err.redis_error, "LOADING dataset");
  readiness none;
  node_rules::redis_answered(none, redis_result{});
  CAF_CHECK(!none.redis);
  CAF_CHECK_EQUAL(none.redis_error, "no reply");
}
