#include "actors/db/batcher.hpp"
#include "actors/db/pg_pool.hpp"
#include "storage/pg/connection.hpp"
#include "support/actors.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <set>

using namespace chorus;
using namespace chorus::actors;

namespace {

using text_batcher = batcher_actor<std::string, std::int64_t>;

// One INSERT for the whole batch; returns the new ids in item order. Takes
// advisory lock 77 first so a test can hold the first batch and let others pile up.
std::vector<std::int64_t> insert_all(pqxx::connection_base& c, const std::vector<std::string>& items) {
  for (auto& i : items)
    if (i.rfind("boom", 0) == 0)
      throw failure(errc::conflict, "refused " + i);
  std::string arr = "{";
  for (std::size_t i = 0; i < items.size(); ++i)
    arr += (i ? "," : "") + storage::pg::quote_array_element(items[i]);
  arr += "}";
  pqxx::work tx(c);
  tx.exec("SELECT pg_advisory_xact_lock(77)");
  auto rows = tx.exec_params(
    "WITH input AS (SELECT t, n FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n)),"
    " ins AS (INSERT INTO items (body) SELECT t FROM input ORDER BY n RETURNING id, body)"
    " SELECT ins.id FROM ins JOIN input ON input.t = ins.body ORDER BY input.n",
    arr);
  tx.commit();
  std::vector<std::int64_t> out;
  for (const auto& r : rows)
    out.push_back(r[0].as<std::int64_t>());
  return out;
}

struct Batcher : ::testing::Test {
  test::actor_env env;
  test::temp_database db;
  pg_pool_actor pool;
  text_batcher batcher;
  std::unique_ptr<pqxx::connection> holder;

  void SetUp() override {
    db.exec("CREATE TABLE items (id bigserial PRIMARY KEY, body text UNIQUE NOT NULL)");
    pg_pool_options o;
    o.connection = {db.dsn(), 2, 5000, "batcher_test"};
    o.size = 1;
    pool = spawn_pg_pool(env.sys, o, env.reg, &env.metrics);
  }
  void start(std::size_t queue_limit = 10'000) {
    batch_spec<std::string, std::int64_t> spec;
    spec.name = "items";
    spec.max_batch = 256;
    spec.max_in_flight = 1;
    spec.queue_limit = queue_limit;
    spec.timeout = std::chrono::seconds(30);
    spec.run = insert_all;
    batcher = spawn_batcher(env.sys, pool, spec, env.reg);
  }
  void hold() {
    holder = std::make_unique<pqxx::connection>(db.dsn());
    pqxx::nontransaction(*holder).exec("SELECT pg_advisory_lock(77)");
  }
  void release() { pqxx::nontransaction(*holder).exec("SELECT pg_advisory_unlock(77)"); }
  std::int64_t counter(const char* name) { return env.counters("batcher")[name]; }
  void TearDown() override {
    caf::anon_send_exit(batcher, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(pool, caf::exit_reason::user_shutdown);
    env.sys.await_all_actors_done();
  }
};

} // namespace

TEST_F(Batcher, ConcurrentRequestsShareOneStatement) {
  start();
  hold();
  auto results = std::make_shared<test::async_results<std::int64_t>>();
  test::send_async<std::int64_t>(env.sys, batcher, std::string("first"), results);
  ASSERT_TRUE(test::wait_until([&] { return counter("in_flight") == 1; }));
  for (int i = 0; i < 199; ++i)
    test::send_async<std::int64_t>(env.sys, batcher, "item-" + std::to_string(i), results);
  ASSERT_TRUE(test::wait_until([&] { return counter("queued") == 199; }));
  release();
  ASSERT_TRUE(test::wait_until([&] { return results->total() == 200; }, std::chrono::seconds(30)));
  EXPECT_TRUE(results->failed.empty());
  std::set<std::int64_t> ids(results->ok.begin(), results->ok.end());
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM items"), "200");
  // The first request went alone; the other 199 were committed together.
  EXPECT_EQ(counter("batches"), 2);
  EXPECT_EQ(counter("max_batch"), 199);
  EXPECT_EQ(counter("items"), 200);
}

TEST_F(Batcher, EachRequestGetsItsOwnResult) {
  start();
  for (int i = 0; i < 5; ++i) {
    std::int64_t id = 0;
    auto body = "solo-" + std::to_string(i);
    auto err = env.call(batcher, [&](std::int64_t x) { id = x; }, body);
    ASSERT_FALSE(err) << description_of(err);
    EXPECT_EQ(db.query_value("SELECT body FROM items WHERE id = " + std::to_string(id)), body);
  }
}

// One client's bad item must not fail the requests batched with it: the batch is
// split until the failing item is found; only its request gets the error and
// every other item commits (issue #12: 34% of valid posts failed beside a NUL).
TEST_F(Batcher, AFailingItemFailsOnlyItsOwnRequest) {
  start();
  hold();
  auto results = std::make_shared<test::async_results<std::int64_t>>();
  test::send_async<std::int64_t>(env.sys, batcher, std::string("fine"), results);
  ASSERT_TRUE(test::wait_until([&] { return counter("in_flight") == 1; }));
  auto mixed = std::make_shared<test::async_results<std::int64_t>>();
  for (auto s : {"a", "b", "boom", "c", "d", "boom2", "e"})
    test::send_async<std::int64_t>(env.sys, batcher, std::string(s), mixed);
  ASSERT_TRUE(test::wait_until([&] { return counter("queued") == 7; }));
  release();
  ASSERT_TRUE(test::wait_until([&] { return results->total() == 1 && mixed->total() == 7; }));
  EXPECT_EQ(results->ok.size(), 1u);
  EXPECT_EQ(mixed->ok.size(), 5u);
  ASSERT_EQ(mixed->failed.size(), 2u);
  for (auto e : mixed->failed)
    EXPECT_EQ(e, errc::conflict);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM items"), "6");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM items WHERE body LIKE 'boom%'"), "0");
  EXPECT_EQ(counter("item_errors"), 2);
  EXPECT_EQ(counter("errors"), 0) << "no batch failed as a whole";
}

// The database refusing one item's bytes (a libpqxx error, not a chorus::failure)
// is isolated the same way.
TEST_F(Batcher, ADatabaseErrorOnOneItemIsIsolated) {
  start();
  hold();
  auto results = std::make_shared<test::async_results<std::int64_t>>();
  test::send_async<std::int64_t>(env.sys, batcher, std::string("first"), results);
  ASSERT_TRUE(test::wait_until([&] { return counter("in_flight") == 1; }));
  auto mixed = std::make_shared<test::async_results<std::int64_t>>();
  for (auto s : {std::string("x"), std::string("evil\0post", 9), std::string("y")})
    test::send_async<std::int64_t>(env.sys, batcher, s, mixed);
  ASSERT_TRUE(test::wait_until([&] { return counter("queued") == 3; }));
  release();
  ASSERT_TRUE(test::wait_until([&] { return results->total() == 1 && mixed->total() == 3; }));
  EXPECT_EQ(mixed->ok.size(), 2u);
  ASSERT_EQ(mixed->failed.size(), 1u);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM items"), "3");
}

TEST_F(Batcher, FullQueueIsRefused) {
  start(3);
  hold();
  auto results = std::make_shared<test::async_results<std::int64_t>>();
  test::send_async<std::int64_t>(env.sys, batcher, std::string("x0"), results);
  ASSERT_TRUE(test::wait_until([&] { return counter("in_flight") == 1; }));
  for (int i = 1; i <= 3; ++i)
    test::send_async<std::int64_t>(env.sys, batcher, "x" + std::to_string(i), results);
  ASSERT_TRUE(test::wait_until([&] { return counter("queued") == 3; }));
  auto err = env.call(batcher, [](std::int64_t) {}, std::string("x4"));
  EXPECT_EQ(code_of(err), errc::overloaded);
  release();
  ASSERT_TRUE(test::wait_until([&] { return results->total() == 4; }));
  EXPECT_EQ(results->ok.size(), 4u);
  EXPECT_EQ(counter("rejected"), 1);
}

TEST_F(Batcher, AbortedBatchesAreRetried) {
  auto attempts = std::make_shared<std::atomic<int>>(0);
  batch_spec<std::string, std::int64_t> spec;
  spec.name = "flaky";
  spec.run = [attempts](pqxx::connection_base& c, const std::vector<std::string>& items) {
    // The database aborts the first two tries (as after a deadlock), then it works.
    if (++*attempts < 3)
      throw failure(errc::aborted, "deadlock detected");
    return insert_all(c, items);
  };
  batcher = spawn_batcher(env.sys, pool, spec, env.reg);
  std::int64_t id = 0;
  auto err = env.call(batcher, [&](std::int64_t x) { id = x; }, std::string("retried"));
  ASSERT_FALSE(err) << description_of(err);
  EXPECT_GT(id, 0);
  EXPECT_EQ(attempts->load(), 3);
  // Three aborts in a row fail the requests with a retryable 503-class error.
  attempts->store(-10);
  spec.run = [](pqxx::connection_base&, const std::vector<std::string>&) -> std::vector<std::int64_t> {
    throw failure(errc::aborted, "deadlock detected");
  };
  auto always = spawn_batcher(env.sys, pool, spec, env.reg);
  EXPECT_EQ(code_of(env.call(always, [](std::int64_t) {}, std::string("x"))), errc::aborted);
  caf::anon_send_exit(always, caf::exit_reason::user_shutdown);
}

#include "actors/workers/blocking_pool.hpp"

TEST(BlockingPool, RunsJobsOffTheSchedulerAndExpiresStaleOnes) {
  test::actor_env env;
  auto pool = spawn_blocking_pool(env.sys, {"cpu-test", 1, 8, std::chrono::milliseconds(100)}, env.reg);
  test::actor_stopper stop{env, {caf::actor_cast<caf::actor>(pool)}};
  int value = 0;
  ASSERT_FALSE(env.call(pool, [](ok_atom) {}, blocking_call{"set", [&] { value = 7; }}));
  EXPECT_EQ(value, 7);
  EXPECT_EQ(code_of(env.call(pool, [](ok_atom) {}, blocking_call{"throws", [] { throw failure(errc::conflict, "x"); }})),
            errc::conflict);
  // Hold the only worker until a queued job has waited past the queue timeout.
  auto release = std::make_shared<std::atomic<bool>>(false);
  // Released on every way out: a failed assertion must not leave the worker
  // spinning (the pool could not stop, and the test would hang until ctest's timeout).
  std::shared_ptr<void> unhold(nullptr, [release](void*) { release->store(true); });
  auto results = std::make_shared<test::async_results<ok_atom>>();
  test::send_async<ok_atom>(env.sys, pool, blocking_call{"hold", [release] {
                                                           while (!release->load())  // a busy worker, not spinning a core
                                                             std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                                         }},
                            results);
  ASSERT_TRUE(test::wait_until([&] { return env.counters("blocking_pool")["busy"] == 1; }, std::chrono::seconds(30)));
  test::send_async<ok_atom>(env.sys, pool, blocking_call{"stale", [] {}}, results);
  // Generous deadlines: the whole suite runs in parallel on 2 cores.
  ASSERT_TRUE(test::wait_until([&] { return env.counters("blocking_pool")["queued"] == 1; }, std::chrono::seconds(30)));
  auto queued_at = std::chrono::steady_clock::now();
  // Waiting for time to pass is the point of this test (the timeout is what is tested).
  ASSERT_TRUE(test::wait_until([&] { return std::chrono::steady_clock::now() - queued_at > std::chrono::milliseconds(150); }));
  release->store(true);
  ASSERT_TRUE(test::wait_until([&] { return results->total() == 2; }));
  ASSERT_EQ(results->failed.size(), 1u);
  EXPECT_EQ(results->failed[0], errc::timeout);
  EXPECT_EQ(env.counters("blocking_pool")["expired"], 1);
}
