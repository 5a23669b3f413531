#include "actors/db/batcher.hpp"

#include <gtest/gtest.h>

using chorus::actors::batch_queue;

TEST(BatchQueue, FlushesAtOnceWhenIdle) {
  batch_queue<int> q(256, 1, 100);
  ASSERT_TRUE(q.push(1));
  ASSERT_TRUE(q.can_flush());
  auto b = q.take();
  EXPECT_EQ(b, std::vector<int>{1});
  EXPECT_EQ(q.in_flight(), 1u);
}

TEST(BatchQueue, AccumulatesWhileBatchesAreInFlight) {
  batch_queue<int> q(256, 1, 1000);
  q.push(0);
  q.take();
  for (int i = 1; i <= 300; ++i)
    q.push(i);
  EXPECT_FALSE(q.can_flush());
  q.done();
  ASSERT_TRUE(q.can_flush());
  auto b = q.take();
  ASSERT_EQ(b.size(), 256u);  // capped at max_batch, order kept
  EXPECT_EQ(b.front(), 1);
  EXPECT_EQ(b.back(), 256);
  EXPECT_EQ(q.queued(), 44u);
}

TEST(BatchQueue, RefusesBeyondLimit) {
  batch_queue<int> q(10, 1, 3);
  EXPECT_TRUE(q.push(1));
  EXPECT_TRUE(q.push(2));
  EXPECT_TRUE(q.push(3));
  EXPECT_FALSE(q.push(4));
  EXPECT_EQ(q.queued(), 3u);
}

TEST(BatchQueue, SeveralBatchesInFlight) {
  batch_queue<int> q(2, 2, 100);
  for (int i = 0; i < 6; ++i)
    q.push(i);
  EXPECT_EQ(q.take().size(), 2u);
  EXPECT_TRUE(q.can_flush());
  EXPECT_EQ(q.take().size(), 2u);
  EXPECT_FALSE(q.can_flush());
  q.done();
  EXPECT_TRUE(q.can_flush());
}
