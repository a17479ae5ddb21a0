// courier: the command-line client. `courier ws ...` (or a ws:// URL first) is the WebSocket
// command; anything else is an HTTP request.
#include "exit_codes.hpp"
#include "failure.hpp"
#include "http_command.hpp"
#include "signals.hpp"
#include "ws_command.hpp"

#include <exception>
#include <string_view>

int main(int argc, char** argv) {
  namespace cli = courier::cli;
  cli::start_signal_watcher();
  try {
    const std::string_view first = argc > 1 ? argv[1] : "";
    if (first == "ws") return cli::run_ws(argc - 1, argv + 1);
    if (first.rfind("ws://", 0) == 0 || first.rfind("wss://", 0) == 0) {
      return cli::run_ws(argc, argv);
    }
    return cli::run_http(argc, argv);
  } catch (const std::exception& e) {
    // Not a courier::error (those are reported where they happen): a bug, or out of memory.
    return cli::report({"internal error", "", e.what(), "", cli::exit_failure});
  }
}
