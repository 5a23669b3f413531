#include "common/ids.hpp"

#include <gtest/gtest.h>
#include <set>
#include <thread>

using chorus::id_generator;

TEST(Ids, StrictlyIncreasingAndTimeSortable) {
  std::uint64_t now = 1'700'000'000'000ULL;
  id_generator g(5, [&] { return now; });
  auto a = g.next();
  auto b = g.next();
  EXPECT_LT(a, b);
  EXPECT_EQ(id_generator::millis_of(a), now);
  EXPECT_EQ((a >> 10) & 0x3f, 5u);
  now += 1;
  auto c = g.next();
  EXPECT_GT(c, b);
  EXPECT_GE(c, id_generator::lowest_id_at(now));
}

TEST(Ids, ClockSteppingBackNeverRepeats) {
  std::uint64_t now = 1'700'000'000'000ULL;
  id_generator g(1, [&] { return now; });
  auto a = g.next();
  now -= 5000;
  auto b = g.next();
  EXPECT_GT(b, a);
}

TEST(Ids, SequenceOverflowMovesToTheNextMillisecondKeepingTheNode) {
  std::uint64_t now = 1'700'000'000'000ULL;
  id_generator g(7, [&] { return now; });
  std::uint64_t last = 0;
  for (int i = 0; i < 3000; ++i) {
    auto id = g.next();
    ASSERT_GT(id, last);
    ASSERT_EQ((id >> 10) & 0x3f, 7u);
    last = id;
  }
  EXPECT_GT(id_generator::millis_of(last), now);  // borrowed from the next milliseconds
}

TEST(Ids, UniqueAcrossThreads) {
  id_generator g(3);
  std::vector<std::vector<std::uint64_t>> per(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i)
        per[t].push_back(g.next());
    });
  for (auto& t : ts)
    t.join();
  std::set<std::uint64_t> all;
  for (auto& v : per)
    all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 80000u);
}

TEST(Ids, NodeIdsFromNamesStayBelowTheCliId) {
  for (auto n : {"a", "b", "node-1", "vm", ""})
    EXPECT_LT(chorus::node_id_from_name(n), chorus::cli_node_id);
  EXPECT_EQ(chorus::node_id_from_name("x"), chorus::node_id_from_name("x"));
}
