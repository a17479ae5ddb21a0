// Ctrl-C and friends: a thread waits for SIGINT, SIGTERM and SIGHUP, runs the cleanup the
// command registered (removing a half-downloaded file, say) and exits with 130.
#pragma once

#include <functional>

namespace courier::cli {

/// Blocks the signals in the calling thread, and so in every thread started after it: call it
/// first in main. Starts the waiting thread.
void start_signal_watcher();

/// What to do before exiting on a signal (replaces the previous cleanup; empty: nothing).
void on_interrupt(std::function<void()> cleanup);

}  // namespace courier::cli
