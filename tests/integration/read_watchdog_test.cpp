// The watchdog that bounds blocking reads (src/asio/read_watchdog.hpp), on socket pairs: a read
// past its deadline is ended by a shutdown, a read that gets its bytes in time is left alone.
#include "asio/connection/read_watchdog.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

namespace cd = courier::asio_detail;
using namespace std::chrono_literals;

namespace {

struct socket_pair {
  int ours = -1, theirs = -1;
  socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
      ours = fds[0];
      theirs = fds[1];
    }
  }
  ~socket_pair() {
    ::close(ours);
    ::close(theirs);
  }
};

// One blocking read of `fd` under `watch` until `deadline`: the bytes read (-1 on error) and
// whether the watchdog ended it.
std::pair<long, bool> watched_read(cd::read_watch& watch, int fd,
                                   cd::coarse_clock::time_point deadline) {
  char buffer[64];
  watch.arm(fd, deadline);
  const long n = ::recv(fd, buffer, sizeof buffer, 0);
  return {n, watch.disarm()};
}

}  // namespace

TEST(ReadWatchdog, EndsAReadThatOutlivesItsDeadline) {
  socket_pair p;
  ASSERT_GE(p.ours, 0);
  cd::read_watch watch;
  const auto start = std::chrono::steady_clock::now();
  const auto [n, fired] = watched_read(watch, p.ours, cd::coarse_clock::now() + 100ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(fired);
  EXPECT_EQ(n, 0) << "the shut-down socket reads as closed";
  EXPECT_GE(took, 80ms);  // the coarse clock may be a tick behind
  EXPECT_LT(took, 2s);
}

TEST(ReadWatchdog, LeavesAReadThatGetsItsBytesInTime) {
  socket_pair p;
  ASSERT_GE(p.ours, 0);
  cd::read_watch watch;
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(::send(p.theirs, "x", 1, 0), 1);
    const auto [n, fired] = watched_read(watch, p.ours, cd::coarse_clock::now() + 200ms);
    EXPECT_EQ(n, 1);
    EXPECT_FALSE(fired);
  }
  // Bytes that come later, within the deadline, arrive too; the socket still works after.
  std::thread late([&] {
    std::this_thread::sleep_for(50ms);
    ::send(p.theirs, "y", 1, 0);
  });
  const auto [n, fired] = watched_read(watch, p.ours, cd::coarse_clock::now() + 5s);
  late.join();
  EXPECT_EQ(n, 1);
  EXPECT_FALSE(fired);
  EXPECT_EQ(::send(p.theirs, "z", 1, 0), 1);
  EXPECT_EQ(watched_read(watch, p.ours, cd::coarse_clock::now() + 5s).first, 1);
}

TEST(ReadWatchdog, WatchesManySocketsEachToItsOwnDeadline) {
  // Reads on four threads: two get their bytes, two time out, and only those two are shut down.
  socket_pair pairs[4];
  bool fired[4] = {};
  long got[4] = {};
  std::thread readers[4];
  for (int i = 0; i < 4; ++i) {
    readers[i] = std::thread([&, i] {
      cd::read_watch watch;
      std::tie(got[i], fired[i]) =
          watched_read(watch, pairs[i].ours, cd::coarse_clock::now() + (i % 2 ? 150ms : 10s));
    });
  }
  std::this_thread::sleep_for(400ms);
  for (int i = 0; i < 4; i += 2)
    ::send(pairs[i].theirs, "x", 1, 0);
  for (auto& t : readers)
    t.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(fired[i], i % 2 == 1) << i;
    EXPECT_EQ(got[i], i % 2 ? 0 : 1) << i;
  }
}

TEST(ReadWatchdog, AWatchMayGoAwayWhileOthersAreArmed) {
  socket_pair p;
  cd::read_watch staying;
  staying.arm(p.ours, cd::coarse_clock::now() + 10s);
  for (int i = 0; i < 100; ++i) {
    cd::read_watch brief;
    brief.arm(p.theirs, cd::coarse_clock::now() + 10s);
    EXPECT_FALSE(brief.disarm());
  }
  EXPECT_FALSE(staying.disarm());
}
