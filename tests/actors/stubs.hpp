#pragma once
// Stand-ins for the Postgres pool, the blocking pool and the Redis actor under
// the deterministic test coordinator, and a fixture that asks an actor and
// reads its counters.
//
// The stubs are real actors of the pool / Redis interfaces. They record what
// they were asked and answer at once, without running anything: a db_call or
// blocking_call is acknowledged unrun (so every look-up finds nothing and no
// password matches), or failed with the error the test sets. Flows that need
// rows are left to the pgtests and e2e tests.
#include "actors/protocol/errors.hpp"
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/ids.hpp"

#include <caf/test/dsl.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chorus::test {

// The errc of an error by name ("unauthorized"), for readable checks.
inline std::string code(const caf::error& e) {
  return std::string(to_string(actors::code_of(e)));
}

// What a stub was asked, and how it answers.
struct stub_log {
  std::vector<std::string> calls;  // db_call / blocking_call names, or redis commands
  caf::error fail;                 // answer with this error when set
  actors::redis_result redis;      // the Redis stub's answer

  std::size_t count(const std::string& name) const {
    std::size_t n = 0;
    for (auto& c : calls)
      n += c == name;
    return n;
  }
};

inline actors::pg_pool_actor::behavior_type stub_pool(actors::pg_pool_actor::pointer,
                                                      std::shared_ptr<stub_log> log) {
  using namespace actors;
  return {
    [log](db_call& call) -> caf::result<ok_atom> {
      log->calls.push_back(call.name);
      if (log->fail)
        return log->fail;
      return ok_atom::value;
    },
    [](stats_atom) { return pool_status{}; },
    [](done_atom, std::uint32_t, std::uint64_t, bool, caf::error&) {},
    [](conn_atom, std::uint32_t, bool) {},
    [](expire_atom, std::uint64_t) {},
  };
}

inline actors::blocking_pool_actor::behavior_type stub_cpu(actors::blocking_pool_actor::pointer,
                                                           std::shared_ptr<stub_log> log) {
  using namespace actors;
  return {
    [log](blocking_call& call) -> caf::result<ok_atom> {
      log->calls.push_back(call.name);
      if (log->fail)
        return log->fail;
      return ok_atom::value;
    },
    [](done_atom, std::uint32_t, std::uint64_t, bool, caf::error&) {},
    [](conn_atom, std::uint32_t, bool) {},
  };
}

inline actors::redis_actor::behavior_type stub_redis(actors::redis_actor::pointer, std::shared_ptr<stub_log> log) {
  using namespace actors;
  return {
    [log](redis_request& req) -> caf::result<redis_result> {
      for (auto& cmd : req.commands)
        log->calls.push_back(cmd.empty() ? std::string{} : cmd.front());
      if (log->fail)
        return log->fail;
      return log->redis;
    },
    [](stats_atom) { return redis_status{}; },
    [](done_atom, std::uint32_t, std::uint64_t, bool, caf::error&) {},
    [](conn_atom, std::uint32_t, bool) {},
  };
}

// An actor's answer: the value, or the error.
template <class T>
struct answer {
  std::optional<T> value;
  caf::error error;
  bool received = false;
};

// The registry and id generator must outlive the actor system, so they live in
// an earlier base than the test coordinator.
struct services_holder {
  actors::actor_registry reg{"test-node"};
  id_generator ids{1};
};

struct stub_fixture : services_holder, test_coordinator_fixture<> {
  std::shared_ptr<stub_log> db = std::make_shared<stub_log>();
  std::shared_ptr<stub_log> cpu_log = std::make_shared<stub_log>();
  actors::pg_pool_actor pool = sys.spawn(stub_pool, db);
  actors::blocking_pool_actor cpu = sys.spawn(stub_cpu, cpu_log);

  // Sends `msg` to `dest` and runs every actor until nothing is left to do.
  // Only messages run, no timers fire (a node's heartbeat would repeat forever).
  template <class T, class Handle, class Msg>
  answer<T> ask(const Handle& dest, Msg msg) {
    auto handle = self->request(dest, std::chrono::seconds(5), std::move(msg));
    sched.run();
    answer<T> out;
    if (self->mailbox().size() == 0)
      return out;  // no answer (yet): received stays false
    handle.receive(
      [&](T& x) {
        out.value = std::move(x);
        out.received = true;
      },
      [&](caf::error& e) {
        out.error = std::move(e);
        out.received = true;
      });
    return out;
  }

  // A counter of the one actor of `kind`, as /metrics and the console read it.
  std::int64_t counter(const std::string& kind, const std::string& name) const {
    for (auto& snap : reg.snapshot())
      if (snap.kind == kind)
        return snap.counters.at(name);
    CAF_FAIL("no actor of kind " << kind);
    return -1;
  }
};

} // namespace chorus::test
