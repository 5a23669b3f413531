#pragma once
// Helpers for tests that run real actors on a real (threaded) actor system.
#include "actors/protocol/errors.hpp"
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <mutex>

namespace chorus::test {

// Members are destroyed in reverse order: the actor system goes first (its
// destructor joins the scheduler, after which no actor touches the registry).
struct actor_env {
  actors::actor_registry reg{"test"};
  metrics::registry metrics;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};

  // Blocking request from the test thread; returns the error (none on success).
  template <class Dest, class OnOk, class... Ts>
  caf::error call(const Dest& dest, OnOk on_ok, Ts&&... xs) {
    caf::scoped_actor self{sys};
    caf::error err;
    self->request(dest, std::chrono::seconds(30), std::forward<Ts>(xs)...)
      .receive(on_ok, [&](caf::error& e) { err = std::move(e); });
    return err;
  }

  // Counters of the first live actor of `kind` (and `name`, if given); empty when none.
  std::map<std::string, std::int64_t> counters(const std::string& kind, const std::string& name = {}) {
    for (auto& s : reg.snapshot())
      if (s.kind == kind && (name.empty() || s.name == name))
        return s.counters;
    return {};
  }

  // Counter `name` summed over every live actor of `kind` (e.g. the "jobs" of all pg_workers).
  std::int64_t total(const std::string& kind, const std::string& name) {
    std::int64_t n = 0;
    for (auto& s : reg.snapshot())
      if (s.kind == kind)
        n += s.counters.at(name);
    return n;
  }

  // The jobs Postgres pool workers have run (ok or failed), counted once every
  // job asked of `pool` before this call has run: a pool of one connection runs
  // its jobs in the order they were asked, so a no-op job asked now runs after
  // them. These no-op jobs are not counted.
  std::int64_t pg_jobs(const actors::pg_pool_actor& pool) {
    call(pool, [](actors::ok_atom) {}, actors::db_call{"barrier", [](pqxx::connection_base&) {}});
    return total("pg_worker", "jobs") - ++pg_barriers_;
  }

  // Messages handled by the first live actor of `kind`; 0 when none.
  std::uint64_t processed(const std::string& kind) {
    for (auto& s : reg.snapshot())
      if (s.kind == kind)
        return s.processed;
    return 0;
  }

private:
  std::int64_t pg_barriers_ = 0;
};

// Stops actors when it goes out of scope (also when an assertion ends the test
// early), then waits for them: the actor system's destructor would wait forever.
struct actor_stopper {
  actor_env& env;
  std::vector<caf::actor> actors;
  ~actor_stopper() {
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    env.sys.await_all_actors_done();
  }
};

// Collects outcomes of asynchronous requests sent from short-lived actors.
template <class Result>
struct async_results {
  std::mutex mtx;
  std::vector<Result> ok;
  std::vector<errc> failed;
  std::size_t total() {
    std::lock_guard<std::mutex> g(mtx);
    return ok.size() + failed.size();
  }
};

template <class Result, class Dest, class Msg>
void send_async(caf::actor_system& sys, const Dest& dest, Msg msg, std::shared_ptr<async_results<Result>> out) {
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(dest, std::chrono::seconds(60), msg)
      .then(
        [out](Result& r) {
          std::lock_guard<std::mutex> g(out->mtx);
          out->ok.push_back(std::move(r));
        },
        [out](caf::error& e) {
          std::lock_guard<std::mutex> g(out->mtx);
          out->failed.push_back(actors::code_of(e));
        });
  });
}

} // namespace chorus::test
