// The manager's half of the detached-worker pattern (actors/workers/job_queue.hpp):
// the bound, FIFO order, the choice of worker and expiry, with explicit times.
#include "actors/workers/job_queue.hpp"

#include <gtest/gtest.h>
#include <string>

using namespace chorus::actors;
using namespace std::chrono_literals;
using queue = job_queue<std::string>;

namespace {
const queue::clock::time_point t0{};
auto no_expiry = [](queue::entry&) { ADD_FAILURE() << "nothing should expire"; };
} // namespace

TEST(JobQueue, IsFullAtItsLimitAndRoomReturnsWhenAJobStarts) {
  queue q(1, 2, 10s);
  EXPECT_FALSE(q.full());
  q.push("a", t0);
  q.push("b", t0);
  EXPECT_TRUE(q.full()) << "a third job would be refused (errc::overloaded)";
  auto s = q.next(t0, no_expiry);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->e.job, "a");
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.queued(), 1u);
}

TEST(JobQueue, StartsJobsInOrderOnIdleWorkersOnly) {
  queue q(2, 10, 10s);
  auto a = q.push("a", t0);
  auto b = q.push("b", t0);
  q.push("c", t0);
  auto first = q.next(t0, no_expiry);
  auto second = q.next(t0, no_expiry);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->e.id, a);
  EXPECT_EQ(second->e.id, b);
  EXPECT_NE(first->worker, second->worker);
  EXPECT_EQ(q.busy(), 2);
  EXPECT_FALSE(q.next(t0, no_expiry)) << "both workers are busy";
  q.finished(second->worker, true);
  auto third = q.next(t0, no_expiry);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->e.job, "c");
  EXPECT_EQ(third->worker, second->worker);
}

TEST(JobQueue, PrefersAWorkerWhoseResourceIsOpen) {
  queue q(3, 10, 10s);
  q.set_open(2, true);
  q.push("a", t0);
  q.push("b", t0);
  auto a = q.next(t0, no_expiry);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->worker, 2u);
  auto b = q.next(t0, no_expiry);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->worker, 0u) << "a closed one still serves (it opens inline) when no open one is idle";
  EXPECT_EQ(q.open(), 1);
  q.finished(2, false);
  EXPECT_EQ(q.open(), 0);
}

TEST(JobQueue, JobsThatWaitedTooLongExpireOldestFirstInsteadOfStarting) {
  queue q(1, 10, 100ms);
  q.push("old", t0);
  q.push("second", t0 + 10ms);
  q.push("fresh", t0 + 150ms);
  std::vector<std::string> expired;
  auto s = q.next(t0 + 200ms, [&](queue::entry& e) { expired.push_back(e.job); });
  EXPECT_EQ(expired, (std::vector<std::string>{"old", "second"}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->e.job, "fresh");
  q.push("waits", t0 + 200ms);
  EXPECT_FALSE(q.next(t0 + 250ms, no_expiry)) << "the worker is busy and the job has not waited too long";
  expired.clear();
  EXPECT_FALSE(q.next(t0 + 301ms, [&](queue::entry& e) { expired.push_back(e.job); }))
    << "a job expires at the next dispatch even when every worker is busy";
  EXPECT_EQ(expired, (std::vector<std::string>{"waits"}));
  EXPECT_EQ(q.queued(), 0u);
}
