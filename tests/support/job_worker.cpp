// A job worker process for the crash test (storage/job_kill_pgtest.cpp): the
// real worker-pool, listener and pg-pool actors serving queue "crash", whose
// kind "test.effect" applies its effect once per job however often the job runs
// (the job id is an idempotency key inside the effect's own transaction) and
// records every run. Runs until SIGTERM/SIGINT; the test kills it with SIGKILL.
//
// usage: job_worker DSN OWNER LEASE_MS POLL_MS lease|locked
#include "actors/db/pg_pool.hpp"
#include "actors/jobs/worker_pool.hpp"
#include "storage/pg/ids.hpp"
#include "support/actors.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <csignal>
#include <cstdio>
#include <pqxx/pqxx>
#include <string>

using namespace chorus;
using namespace chorus::actors;

namespace {

job_handler_actor::behavior_type effect(job_handler_actor::pointer self, pg_pool_actor pool) {
  return {
    [self, pool](job_work& w) -> caf::result<ok_atom> {
      auto id = w.id;
      return self->delegate(pool, db_call{"test.effect", [id](pqxx::connection_base& c) {
                                            pqxx::work tx(c);
                                            tx.exec_params("INSERT INTO crash_runs (job_id) VALUES ($1)", id);
                                            tx.exec_params("WITH first AS (INSERT INTO crash_effects (job_id) VALUES ($1)"
                                                           " ON CONFLICT DO NOTHING RETURNING job_id)"
                                                           " UPDATE crash_total SET n = n + (SELECT count(*) FROM first)",
                                                           id);
                                            tx.exec("SELECT pg_sleep(0.003)");  // a handler doing some I/O
                                            tx.commit();
                                          }});
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: job_worker DSN OWNER LEASE_MS POLL_MS lease|locked\n");
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before CAF's threads start: they inherit it
  {
    test::actor_env env;
    pg_pool_options po;
    po.connection = {argv[1], 5, 5000, argv[2]};
    po.size = 4;
    auto pool = spawn_pg_pool(env.sys, po, env.reg, nullptr);
    auto handler = env.sys.spawn(effect, pool);
    worker_pool_options wo;
    wo.queue = "crash";
    wo.concurrency = 8;
    wo.owner = argv[2];
    wo.lease = std::chrono::milliseconds(std::stoi(argv[3]));
    wo.poll = std::chrono::milliseconds(std::stoi(argv[4]));
    wo.kinds["test.effect"] = {handler, std::chrono::seconds(5)};
    wo.locked = std::string(argv[5]) == "locked";
    wo.dsn = argv[1];
    wo.prefetch = wo.locked ? 32 : 0;
    auto workers = spawn_worker_pool(env.sys, wo, pool, env.reg, nullptr);
    auto listener = spawn_job_listener(env.sys, argv[1], {{"crash", workers}}, env.reg);
    test::actor_stopper stopper{env, {listener, caf::actor_cast<caf::actor>(workers), caf::actor_cast<caf::actor>(handler),
                                      caf::actor_cast<caf::actor>(pool)}};
    int sig = 0;
    sigwait(&stop, &sig);
  }
  return 0;
}
