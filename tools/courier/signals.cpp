#include "signals.hpp"

#include "exit_codes.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <thread>

namespace courier::cli {

namespace {

std::mutex cleanup_mutex;
std::function<void()> cleanup;

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void start_signal_watcher() {
  sigset_t set = watched_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    {
      std::lock_guard lock(cleanup_mutex);
      if (cleanup) cleanup();
    }
    // End a progress bar's line, then leave without running destructors: the other threads are
    // still blocked in I/O.
    static constexpr char message[] = "\ncourier: interrupted\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
    std::_Exit(exit_interrupted);
  }).detach();
}

void on_interrupt(std::function<void()> f) {
  std::lock_guard lock(cleanup_mutex);
  cleanup = std::move(f);
}

}  // namespace courier::cli
