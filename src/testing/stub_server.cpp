#include "testing/stub_server.hpp"

#include "testing/ws_transcript.hpp"

#include "proto/ws/frame_codec.hpp"
#include "proto/ws/handshake.hpp"

#include <courier/headers.hpp>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace courier::testing::detail {

namespace net = boost::asio;
namespace pws = courier::proto::ws;

std::string reason_for(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

namespace {

constexpr std::size_t max_request_head = 64 * 1024;

struct request_head {
  courier::headers headers;
};

// The upgrade request as the client wrote it. Our own client wrote it, so a line split is
// enough; anything odd ends the connection (the client then reports a read error).
std::optional<request_head> parse_head(std::string_view text) {
  request_head out;
  std::size_t pos = text.find("\r\n");
  if (pos == std::string_view::npos) return std::nullopt;
  pos += 2;
  while (pos < text.size()) {
    std::size_t end = text.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    std::string_view line = text.substr(pos, end - pos);
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      out.headers.add_unchecked(line.substr(0, colon), value);
    }
    pos = end + 2;
  }
  return out;
}

std::string response_head_text(int status, const std::string& reason,
                               const courier::headers& headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " +
                    (reason.empty() ? reason_for(status) : reason) + "\r\n";
  for (const auto& f : headers)
    out += f.name + ": " + f.value + "\r\n";
  return out;
}

class server {
 public:
  server(std::unique_ptr<memory_stream> s, server_plan p)
      : stream_(std::move(s)), plan_(std::move(p)) {}

  net::awaitable<void> run() {
    std::string head;
    if (!co_await read_head(head)) co_return stream_->close();
    if (plan_.delay.count() > 0) {
      net::steady_timer timer(co_await net::this_coro::executor, plan_.delay);
      boost::system::error_code ec;
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    if (plan_.hang_up) co_return stream_->close();
    auto req = parse_head(head);
    if (!req) co_return stream_->close();
    if (!plan_.script) {
      co_await refuse();
      co_return;
    }
    co_await accept(*req);
    co_await converse();
  }

 private:
  net::awaitable<bool> read_head(std::string& head) {
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (head.size() > max_request_head) co_return false;
      boost::system::error_code ec;
      std::size_t n = co_await stream_->read_some(net::buffer(buf), ec);
      head.append(buf, n);
      if (ec) co_return false;
    }
    // Whatever follows the head is the client's first frames.
    std::size_t end = head.find("\r\n\r\n") + 4;
    input_ = head.substr(end);
    head.resize(end);
    co_return true;
  }

  net::awaitable<void> write(const std::string& bytes) {
    boost::system::error_code ec;
    const std::vector<net::const_buffer> buffers{net::buffer(bytes)};
    co_await stream_->write(buffers, ec);
  }

  net::awaitable<void> refuse() {
    const answer& a = plan_.refusal;
    courier::headers h = a.headers;
    h.set("Content-Length", std::to_string(a.body.size()));
    h.set("Connection", "close");
    co_await write(response_head_text(a.status, a.reason, h) + "\r\n" + a.body);
    stream_->close();
  }

  net::awaitable<void> accept(const request_head& req) {
    const auto& steps = plan_.script->steps();
    plan_.script->shared_transcript()->connected();
    courier::headers h;
    h.add_unchecked("Upgrade", "websocket");
    h.add_unchecked("Connection", "Upgrade");
    h.add_unchecked("Sec-WebSocket-Accept",
                    pws::accept_value(req.headers.get("Sec-WebSocket-Key").value_or("")));
    if (steps.subprotocol) h.add_unchecked("Sec-WebSocket-Protocol", *steps.subprotocol);
    for (const auto& f : steps.headers)
      h.add_unchecked(f.name, f.value);
    std::string out = response_head_text(101, {}, h) + "\r\n";
    for (const auto& f : steps.greeting)
      pws::append_frame(out, f);
    if (steps.close_after_greeting) {
      pws::append_frame(out, ws::frame::close(steps.close_after_greeting->code,
                                              steps.close_after_greeting->reason));
      close_sent_ = true;
    }
    co_await write(out);
  }

  // Reads client frames until the close handshake ends or the client goes away.
  net::awaitable<void> converse() {
    const auto& steps = plan_.script->steps();
    char buf[16 * 1024];
    for (;;) {
      std::string out;
      bool done = false;
      while (auto f = decode_next()) {
        if (handle(*f, steps, out)) {
          done = true;
          break;
        }
      }
      if (!out.empty()) co_await write(out);
      if (done) break;
      boost::system::error_code ec;
      std::size_t n = co_await stream_->read_some(net::buffer(buf), ec);
      input_.append(buf, n);
      if (ec) break;
    }
    stream_->close();
  }

  std::optional<pws::decoded_frame> decode_next() {
    try {
      auto f = pws::decode_frame(input_);
      if (f) input_.erase(0, f->wire_size);
      return f;
    } catch (...) {
      return std::nullopt;
    }
  }

  // True when the conversation is over (the close handshake finished).
  bool handle(const pws::decoded_frame& f, const ws_script::plan& steps, std::string& out) {
    const auto op = static_cast<ws::opcode>(f.header.opcode);
    // A hung peer: control frames go unanswered, messages are recorded only.
    if (steps.unresponsive && (static_cast<std::uint8_t>(op) & 0x8) != 0) return false;
    if (op == ws::opcode::close) {
      if (!close_sent_) {
        // Echo the client's code, as RFC 6455 5.5.1 suggests.
        ws::frame reply{ws::opcode::close, true, false, false, false, f.payload.substr(0, 2)};
        pws::append_frame(out, reply);
        close_sent_ = true;
      }
      return true;
    }
    if (close_sent_) return false;  // after our close frame, only the client's close matters
    if (op == ws::opcode::ping) {
      pws::append_frame(out, ws::frame::pong(f.payload));
      return false;
    }
    if (op == ws::opcode::pong) return false;
    if (op == ws::opcode::text || op == ws::opcode::binary) {
      partial_ = ws::message{op, f.payload};
    } else if (op == ws::opcode::continuation && partial_) {
      partial_->data += f.payload;
    } else {
      return false;
    }
    if (!f.header.fin) return false;
    ws::message m = std::move(*partial_);
    partial_.reset();
    plan_.script->shared_transcript()->add(m);
    if (steps.unresponsive) return false;
    if (steps.on_message) {
      try {
        for (const auto& r : steps.on_message(m)) {
          pws::append_frame(out, r);
          if (r.op == ws::opcode::close) {
            close_sent_ = true;
            break;
          }
        }
      } catch (const std::exception& e) {
        pws::append_frame(out, ws::frame::close(ws::close_code::internal_error, "script failed"));
        close_sent_ = true;
      }
    }
    ++answered_;
    if (!close_sent_ && steps.close_after_messages && answered_ >= *steps.close_after_messages) {
      pws::append_frame(out, ws::frame::close(steps.close_after_messages_event.code,
                                              steps.close_after_messages_event.reason));
      close_sent_ = true;
    }
    return false;
  }

  std::unique_ptr<memory_stream> stream_;
  server_plan plan_;
  std::string input_;
  std::optional<ws::message> partial_;
  bool close_sent_ = false;
  std::size_t answered_ = 0;
};

}  // namespace

net::awaitable<void> run_stub_server(std::unique_ptr<memory_stream> stream, server_plan plan) {
  auto s = std::make_unique<server>(std::move(stream), std::move(plan));
  co_await s->run();
}

}  // namespace courier::testing::detail
