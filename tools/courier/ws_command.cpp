#include "ws_command.hpp"

#include "backend_options.hpp"
#include "exit_codes.hpp"
#include "failure.hpp"
#include "line_reader.hpp"
#include "terminal.hpp"
#include "ws_args.hpp"
#include "ws_events.hpp"

#include <courier/asio_backend.hpp>
#include <courier/request.hpp>
#include <courier/ws/errors.hpp>
#include <courier/ws/handler.hpp>
#include <courier/ws/websocket.hpp>

#include <unistd.h>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <iostream>
#include <thread>

namespace courier::cli {

namespace {

using namespace std::chrono_literals;

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(std::max<long long>(1, static_cast<long long>(seconds * 1000)));
}

failure ws_failure(const courier::error& e, const std::string& where) {
  failure f = describe(e, where);
  if (e.code() == errc::read_failed) {
    f.what = "WebSocket connection lost";
    f.exit_code = exit_ws_closed;
  }
  return f;
}

int exit_code_for_close(const ws::close_event& close) {
  return is_clean_close(close.code) ? exit_ok : exit_ws_closed;
}

// After a failure the library closes the connection (with 1002, 1007, ...) and reports the
// close event last; waiting for it (bounded) lets that close handshake finish before we exit.
void wait_for_close(ws::websocket& ws) {
  for (int i = 0; i < 4; ++i) {
    auto next = ws.async_receive_message(boost::asio::use_future);
    if (next.wait_for(7s) != std::future_status::ready) return;
    try {
      next.get();
    } catch (...) {
      return;  // the close (websocket_closed), or the connection is gone
    }
  }
}

// --echo: every message goes straight back as it came (text as text, binary as binary; the
// library has already joined fragments and inflated compressed messages).
int run_echo(ws::websocket& ws, ws_events& events, const std::string& where, bool show) {
  for (;;) {
    ws::message m;
    try {
      m = ws.receive_message();
    } catch (const websocket_closed& e) {
      events.closed(e.close(), where);
      return exit_code_for_close(e.close());
    } catch (const courier::error& e) {
      const int code = events.failed(ws_failure(e, where));
      wait_for_close(ws);
      return code;
    }
    if (show) events.message(m);
    try {
      ws.send(ws::frame{m.type, true, false, false, false, std::move(m.data)});
    } catch (const courier::error&) {
      // The connection is closing; the next receive says how it ended.
    }
  }
}

// The default mode: stdin lines go out on their own thread, messages are printed here.
int run_interactive(ws::websocket& ws, ws_events& events, const std::string& where,
                    double linger_seconds) {
  using clock = std::chrono::steady_clock;
  std::atomic<bool> stop{false};
  std::atomic<clock::rep> last_message{clock::now().time_since_epoch().count()};

  // Replies to the last lines may still be on their way when input ends (a piped script ends
  // at once): wait until the server has been quiet for a moment, within a bound.
  auto linger = [&] {
    const auto quiet =
        std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(linger_seconds));
    const auto give_up = clock::now() + 5 * quiet;
    last_message = clock::now().time_since_epoch().count();
    while (!stop && clock::now() < give_up) {
      const clock::time_point last{clock::duration(last_message.load())};
      if (clock::now() - last >= quiet) return;
      std::this_thread::sleep_for(20ms);
    }
  };

  std::thread input([&] {
    line_reader lines(STDIN_FILENO);
    while (auto line = lines.next(stop)) {
      try {
        ws.send_text(std::move(*line));
      } catch (const courier::error& e) {
        if (!ws.is_open()) return;  // the receiving side reports how the connection ended
        warn(std::string("message not sent: ") + e.what());
      }
    }
    if (stop) return;
    if (linger_seconds > 0) linger();
    if (stop) return;
    // End of input (Ctrl-D): close cleanly; the server's answer arrives as the close event.
    try {
      ws.close(ws::close_code::normal);
    } catch (const courier::error&) {
    }
  });

  int code = exit_ok;
  for (;;) {
    try {
      ws::message m = ws.receive_message();
      last_message = clock::now().time_since_epoch().count();
      events.message(m);
    } catch (const websocket_closed& e) {
      events.closed(e.close(), where);
      code = exit_code_for_close(e.close());
      break;
    } catch (const courier::error& e) {
      code = events.failed(ws_failure(e, where));
      wait_for_close(ws);
      break;
    }
  }
  stop = true;
  input.join();
  return code;
}

void print_upgrade(const websocket_response<ws::websocket>& res) {
  std::cerr << "HTTP/1.1 " << res.status << " " << res.reason << "\n";
  for (const auto& f : res.headers)
    std::cerr << f.name << ": " << f.value << "\n";
  std::cerr << "\n" << std::flush;
}

}  // namespace

int run_ws(int argc, char** argv) {
  std::optional<ws_args> args;
  try {
    args = parse_ws_args(argc, argv);
    if (!args) return exit_ok;  // --help
  } catch (const usage_error& e) {
    return report(describe(e));
  }

  ws_events events(args->jsonl, args->binary);
  const courier::uri target(args->url);
  const std::string where = host_port(target);
  try {
    courier::asio_backend backend(
        backend_options(args->cacert, args->insecure, args->proxy, args->env_proxy));
    auto req = courier::empty_request();
    for (const auto& [name, value] : args->headers)
      req = std::move(req).header(name, value);
    if (args->connect_timeout) req = std::move(req).connect_timeout(to_ms(*args->connect_timeout));

    courier::ws::high_level handler;
    auto& connection = handler.options.connection;
    connection.subprotocols = args->subprotocols;
    if (args->compress) connection.compression = ws::compression_options{};
    connection.max_message_size = args->max_message_size;
    if (args->ping_interval) connection.ping_interval = to_ms(*args->ping_interval);

    auto res = std::move(req).get(target).open_websocket(backend, handler);
    if (args->verbose) print_upgrade(res);
    ws::websocket ws = res.result;
    const bool announce = !args->echo && (args->verbose || is_terminal(STDERR_FILENO));
    events.opened(args->url, res.subprotocol, ws.compressed(), announce);
    return args->echo ? run_echo(ws, events, where, args->jsonl)
                      : run_interactive(ws, events, where, args->linger);
  } catch (const courier::error& e) {
    return events.failed(ws_failure(e, where));
  }
}

}  // namespace courier::cli
