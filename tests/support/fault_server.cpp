#include "support/fault_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace courier::test {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

constexpr std::size_t max_request_head = 64 * 1024;
constexpr std::size_t read_chunk = 64 * 1024;
constexpr milliseconds close_drain_limit{2'000};
constexpr milliseconds never_answer_limit{300'000};

}  // namespace

// Each connection has its own io_context, run only by its script's thread: a blocking helper
// starts one async operation and runs the context until it completes or the deadline passes.
// The destructor interrupts a script by posting a socket close to that context.
struct connection::state {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  std::string pending;  // read from the socket, not yet handed to the script
  milliseconds timeout = default_timeout;
  int index = 0;

  std::mutex mutex;
  std::condition_variable stop_signal;
  bool stopping = false;  // guarded by mutex

  struct io_result {
    error_code ec;
    std::size_t transferred = 0;
    bool timed_out = false;
  };

  bool is_stopping() {
    std::lock_guard lock(mutex);
    return stopping;
  }

  void throw_if_stopping(std::string_view what) {
    if (is_stopping()) throw fault_error(std::string(what) + ": the fault_server is stopping");
  }

  // Called from the destructor's thread.
  void interrupt() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    stop_signal.notify_all();
    asio::post(ioc, [this] {
      error_code ignored;
      socket.close(ignored);
    });
  }

  template <class Initiate>
  io_result run_io(Initiate initiate, steady::time_point deadline, std::string_view what) {
    throw_if_stopping(what);
    io_result result;
    bool done = false;
    initiate([&](error_code ec, std::size_t n) {
      result.ec = ec;
      result.transferred = n;
      done = true;
    });
    ioc.restart();
    ioc.run_until(deadline);
    if (!done) {
      error_code ignored;
      socket.cancel(ignored);
      ioc.restart();
      ioc.run();  // lets the cancelled handler run, so nothing refers to our locals
      result.timed_out = true;
    }
    throw_if_stopping(what);
    return result;
  }

  // One read into `pending`; returns false at end of stream (or timeout when `timeout_ok`).
  bool fill(steady::time_point deadline, std::string_view what) {
    std::string buffer(read_chunk, '\0');
    const auto r = run_io(
        [&](auto handler) { socket.async_read_some(asio::buffer(buffer), std::move(handler)); },
        deadline, what);
    if (r.timed_out) {
      throw fault_error(std::string(what) + ": timed out after " + std::to_string(timeout.count()) +
                        " ms");
    }
    if (r.ec == asio::error::eof) return false;
    if (r.ec) throw fault_error(std::string(what) + ": " + r.ec.message());
    pending.append(buffer, 0, r.transferred);
    return true;
  }

  std::optional<std::string> read_head(bool eof_ok) {
    const auto deadline = steady::now() + timeout;
    for (;;) {  // each pass reads at least one byte or throws; bounded by max_request_head
      const auto end = pending.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = pending.substr(0, end + 4);
        pending.erase(0, end + 4);
        return head;
      }
      if (pending.size() > max_request_head) {
        throw fault_error("read_request_head: no end of head within 64 KiB");
      }
      if (!fill(deadline, "read_request_head")) {
        if (eof_ok && pending.empty()) return std::nullopt;
        throw fault_error("read_request_head: the peer closed before the end of the head (" +
                          std::to_string(pending.size()) + " bytes read)");
      }
    }
  }

  // Reads and discards until end of stream: true if it came before the deadline.
  bool drain_until_peer_close(steady::time_point deadline) {
    pending.clear();
    std::string buffer(read_chunk, '\0');
    for (;;) {  // ends at EOF, on an error, or at the deadline
      const auto r = run_io(
          [&](auto handler) { socket.async_read_some(asio::buffer(buffer), std::move(handler)); },
          deadline, "wait_for_peer_close");
      if (r.timed_out) return false;
      if (r.ec) return true;  // eof, reset, or closed: the peer is gone either way
    }
  }
};

connection::connection(std::unique_ptr<state> s) : state_(std::move(s)) {}
connection::~connection() = default;

int connection::index() const noexcept {
  return state_->index;
}
milliseconds connection::timeout() const noexcept {
  return state_->timeout;
}
void connection::set_timeout(milliseconds limit) noexcept {
  state_->timeout = limit;
}
bool connection::is_open() const noexcept {
  return state_->socket.is_open();
}

std::string connection::read_request_head() {
  return *state_->read_head(false);
}

std::optional<std::string> connection::try_read_request_head() {
  return state_->read_head(true);
}

std::string connection::read_some() {
  if (state_->pending.empty()) state_->fill(steady::now() + state_->timeout, "read_some");
  return std::exchange(state_->pending, {});
}

std::string connection::read_exactly(std::size_t n) {
  const auto deadline = steady::now() + state_->timeout;
  while (state_->pending.size() < n) {  // each pass reads at least one byte or throws
    if (!state_->fill(deadline, "read_exactly")) {
      throw fault_error("read_exactly: the peer closed after " +
                        std::to_string(state_->pending.size()) + " of " + std::to_string(n) +
                        " bytes");
    }
  }
  std::string out = state_->pending.substr(0, n);
  state_->pending.erase(0, n);
  return out;
}

void connection::write(std::string_view bytes) {
  const auto r = state_->run_io(
      [&](auto handler) {
        asio::async_write(state_->socket, asio::buffer(bytes.data(), bytes.size()),
                          std::move(handler));
      },
      steady::now() + state_->timeout, "write");
  if (r.timed_out) {
    throw fault_error("write: timed out after " + std::to_string(state_->timeout.count()) +
                      " ms (" + std::to_string(r.transferred) + " of " +
                      std::to_string(bytes.size()) + " bytes written)");
  }
  if (r.ec) throw fault_error("write: " + r.ec.message());
}

void connection::close() {
  if (!state_->socket.is_open()) return;
  error_code ignored;
  state_->socket.shutdown(tcp::socket::shutdown_send, ignored);
  state_->drain_until_peer_close(steady::now() + close_drain_limit);
  state_->socket.close(ignored);
}

void connection::reset() {
  if (!state_->socket.is_open()) return;
  error_code ignored;
  state_->socket.set_option(asio::socket_base::linger(true, 0), ignored);
  state_->socket.close(ignored);
}

bool connection::wait_for_peer_close(milliseconds limit) {
  if (!state_->socket.is_open()) return true;
  return state_->drain_until_peer_close(steady::now() + limit);
}

void connection::pause(milliseconds d) {
  std::unique_lock lock(state_->mutex);
  state_->stop_signal.wait_for(lock, d, [&] { return state_->stopping; });
  if (state_->stopping) throw fault_error("pause: the fault_server is stopping");
}

// --- the server ---------------------------------------------------------------------------------

struct fault_server::impl {
  script run;
  asio::io_context accept_ioc;
  tcp::acceptor acceptor{accept_ioc};
  std::uint16_t port = 0;
  std::thread accept_thread;
  std::atomic<int> accepted{0};

  mutable std::mutex mutex;  // guards everything below
  bool stopping = false;
  std::vector<std::shared_ptr<connection>> connections;
  std::vector<std::thread> threads;
  std::vector<std::string> errors;

  void accept_next() {
    auto conn = std::shared_ptr<connection>(new connection(std::make_unique<connection::state>()));
    acceptor.async_accept(conn->state_->socket, [this, conn](error_code ec) {
      if (ec) return;  // the acceptor was closed: the server is stopping
      std::lock_guard lock(mutex);
      if (stopping) return;
      conn->state_->index = accepted++;
      connections.push_back(conn);
      threads.emplace_back([this, conn] { run_script(*conn); });
      accept_next();
    });
  }

  void run_script(connection& conn) {
    try {
      run(conn);
      conn.close();
    } catch (const std::exception& e) {
      if (!conn.state_->is_stopping()) {
        std::lock_guard lock(mutex);
        errors.push_back("connection " + std::to_string(conn.index()) + ": " + e.what());
      }
    }
    error_code ignored;
    conn.state_->socket.close(ignored);
  }
};

fault_server::fault_server(script s) : impl_(std::make_unique<impl>()) {
  impl_->run = std::move(s);
  const tcp::endpoint loopback(asio::ip::make_address_v4("127.0.0.1"), 0);
  impl_->acceptor.open(loopback.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(loopback);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept_next();
  impl_->accept_thread = std::thread([this] { impl_->accept_ioc.run(); });
}

fault_server::~fault_server() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  asio::post(impl_->accept_ioc, [this] {
    error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->accept_thread.join();
  // No thread is added from here on: the accept loop has ended.
  for (auto& conn : impl_->connections)
    conn->state_->interrupt();
  for (auto& thread : impl_->threads)
    thread.join();
}

std::uint16_t fault_server::port() const noexcept {
  return impl_->port;
}

std::string fault_server::url(std::string_view path) const {
  return url("http", path);
}

std::string fault_server::url(std::string_view scheme, std::string_view path) const {
  std::string out = std::string(scheme) + "://127.0.0.1:" + std::to_string(impl_->port);
  if (path.empty() || path.front() != '/') out += '/';
  out += path;
  return out;
}

int fault_server::connections_accepted() const noexcept {
  return impl_->accepted.load();
}

std::vector<std::string> fault_server::script_errors() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->errors;
}

// --- ready-made scripts -------------------------------------------------------------------------

fault_server::script respond_raw(std::string bytes) {
  return [bytes = std::move(bytes)](connection& c) {
    c.read_request_head();
    c.write(bytes);
    c.close();
  };
}

fault_server::script close_mid_body(std::size_t declared, std::size_t sent) {
  return [declared, sent](connection& c) {
    c.read_request_head();
    c.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
            std::to_string(declared) + "\r\n\r\n" + std::string(sent, 'x'));
    c.close();
  };
}

fault_server::script never_answer() {
  return [](connection& c) {
    c.read_request_head();
    c.wait_for_peer_close(never_answer_limit);
  };
}

fault_server::script slow_drip(std::string bytes, milliseconds gap) {
  return [bytes = std::move(bytes), gap](connection& c) {
    c.read_request_head();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (i != 0) c.pause(gap);
      c.write(std::string_view(bytes).substr(i, 1));
    }
    c.close();
  };
}

fault_server::script reset_after_head() {
  return [](connection& c) {
    c.read_request_head();
    c.reset();
  };
}

}  // namespace courier::test
