// lazy_fifo: first in, first out, with nothing allocated before the first element, and a
// queue fed as it is taken (a long upload) keeps its order while dropping taken elements.
#include "core/lazy_fifo.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using courier::detail::lazy_fifo;

TEST(LazyFifo, TakesInArrivalOrderAndStartsEmpty) {
  lazy_fifo<std::string> q(3);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  q.push_back("head");
  q.push_back("body");
  q.push_back("end");
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.front(), "head");
  EXPECT_EQ(q.take_front(), "head");
  EXPECT_EQ(q.take_front(), "body");
  q.push_back("more");
  EXPECT_EQ(q.take_front(), "end");
  EXPECT_EQ(q.take_front(), "more");
  EXPECT_TRUE(q.empty());
  q.push_back("again");  // usable once drained
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.take_front(), "again");
}

TEST(LazyFifo, AQueueThatNeverDrainsKeepsItsOrder) {
  // Two pieces stay queued while one is added and one taken, past the point where the taken
  // ones are dropped: every piece comes out once, in order.
  lazy_fifo<int> q;
  int next_in = 0, next_out = 0;
  q.push_back(next_in++);
  q.push_back(next_in++);
  for (int round = 0; round < 1000; ++round) {
    q.push_back(next_in++);
    ASSERT_EQ(q.take_front(), next_out++);
    ASSERT_EQ(q.size(), 2u);
  }
  EXPECT_EQ(q.take_front(), next_out++);
  EXPECT_EQ(q.take_front(), next_out++);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(next_out, next_in);
}

TEST(LazyFifo, ClearEmptiesIt) {
  lazy_fifo<std::string> q;
  q.push_back("a");
  q.push_back("b");
  q.pop_front();
  q.clear();
  EXPECT_TRUE(q.empty());
  q.push_back("c");
  EXPECT_EQ(q.front(), "c");
}

}  // namespace
