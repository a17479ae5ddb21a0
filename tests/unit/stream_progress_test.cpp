// The progress callback's rate bound: the first bytes at once, then at most one call per
// interval, and always one final call.
#include "asio/http/stream_progress.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using courier::transfer_progress;
using courier::asio_detail::progress_reporter;
using namespace std::chrono_literals;

TEST(ProgressReporter, RateBoundedWithAFinalCall) {
  std::vector<transfer_progress> calls;
  courier::progress_callback cb = [&](const transfer_progress& p) { calls.push_back(p); };
  progress_reporter r(&cb, transfer_progress::direction::upload, 100ms);
  r.set_total(1000);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  r.add(10, t0);          // first: reported
  r.add(10, t0 + 50ms);   // too soon
  r.add(10, t0 + 99ms);   // too soon
  r.add(10, t0 + 100ms);  // an interval later: reported
  r.add(10, t0 + 150ms);  // too soon
  r.finish();             // always
  r.finish();             // once
  r.add(10, t0 + 900ms);  // after the end: not reported
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].bytes, 10u);
  EXPECT_EQ(calls[1].bytes, 40u);
  EXPECT_EQ(calls[2].bytes, 50u);
  EXPECT_FALSE(calls[1].done);
  EXPECT_TRUE(calls[2].done);
  EXPECT_EQ(calls[2].total, 1000u);
  EXPECT_EQ(calls[2].dir, transfer_progress::direction::upload);
}

TEST(ProgressReporter, NoCallbackNoCalls) {
  progress_reporter none;
  none.add(5, std::chrono::steady_clock::now());
  none.finish();
  EXPECT_EQ(none.bytes(), 5u);
  courier::progress_callback empty;
  progress_reporter also_none(&empty, transfer_progress::direction::download, 0ms);
  also_none.add(1, std::chrono::steady_clock::now());  // an empty std::function is never called
  also_none.finish();
}

}  // namespace
