#include "common/errc.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <thread>

using namespace chorus;
using namespace chorus::storage::pg;

namespace {
std::unique_ptr<pqxx::connection> open(const test::temp_database& db) {
  return connect({db.dsn(), 5, 5000, "migrate_test"});
}
} // namespace

TEST(Migrate, AppliesEverythingOnceThenNothing) {
  test::temp_database db;
  auto conn = open(db);
  auto first = migrate(*conn);
  EXPECT_EQ(first.applied.size(), embedded_migrations().size());
  EXPECT_EQ(first.current_version, latest_version());
  auto second = migrate(*conn);
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.current_version, latest_version());
  EXPECT_EQ(db.query_value("SELECT count(*) FROM schema_migrations"), std::to_string(embedded_migrations().size()));
  EXPECT_EQ(applied_version(*conn), latest_version());
  // The tables of the migrations exist.
  EXPECT_EQ(db.query_value("SELECT to_regclass('settings') IS NOT NULL"), "t");
  EXPECT_EQ(db.query_value("SELECT to_regclass('nodes') IS NOT NULL"), "t");
}

TEST(Migrate, ConcurrentMigratorsApplyEachVersionExactlyOnce) {
  test::temp_database db;
  std::atomic<int> applied{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      try {
        auto conn = open(db);
        applied += static_cast<int>(migrate(*conn).applied.size());
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << e.what();
      }
    });
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(applied.load(), static_cast<int>(embedded_migrations().size()));
  EXPECT_EQ(db.query_value("SELECT count(*) FROM schema_migrations"), std::to_string(embedded_migrations().size()));
}

TEST(Migrate, EditedMigrationIsRefused) {
  test::temp_database db;
  auto conn = open(db);
  std::vector<migration> v1 = {{1, "one", "CREATE TABLE one_t (id int)"}};
  migrate(*conn, v1);
  std::vector<migration> edited = {{1, "one", "CREATE TABLE one_t (id bigint)"}};
  try {
    migrate(*conn, edited);
    FAIL() << "an edited migration was accepted";
  } catch (const failure& f) {
    EXPECT_NE(std::string(f.what()).find("checksum"), std::string::npos) << f.what();
  }
}

TEST(Migrate, FailingMigrationRollsBackAndStops) {
  test::temp_database db;
  auto conn = open(db);
  std::vector<migration> ms = {
    {1, "good", "CREATE TABLE good_t (id int)"},
    {2, "bad", "CREATE TABLE half_t (id int); SELECT * FROM no_such_table"},
    {3, "later", "CREATE TABLE later_t (id int)"},
  };
  EXPECT_THROW(migrate(*conn, ms), failure);
  EXPECT_EQ(db.query_value("SELECT max(version) FROM schema_migrations"), "1");
  EXPECT_EQ(db.query_value("SELECT to_regclass('half_t') IS NULL"), "t");
  EXPECT_EQ(db.query_value("SELECT to_regclass('later_t') IS NULL"), "t");
  // Fixing the migration lets the run continue where it stopped.
  ms[1].sql = "CREATE TABLE half_t (id int)";
  auto r = migrate(*conn, ms);
  EXPECT_EQ(r.applied, (std::vector<int>{2, 3}));
}

TEST(Migrate, UnreachableServerIsUnavailable) {
  auto port = test::free_port();
  try {
    connect({"host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=x", 2, 0, "t"});
    FAIL() << "connected to nothing";
  } catch (const failure& f) {
    EXPECT_EQ(f.code(), errc::unavailable);
  }
}
