// The handshakes that open a tunnel through a proxy before the origin's bytes flow: HTTP
// CONNECT and SOCKS5 (RFC 1928, with RFC 1929's user name and password).
#include "asio/connection/transport.hpp"

#include "proto/http1/response_parser.hpp"
#include "proto/socks5/messages.hpp"

#include <courier/error.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 misreads a coroutine frame's own operator new/delete pair as a mismatch (a false
// positive of its coroutine lowering).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace courier::asio_detail {

namespace http1 = courier::proto::http1;

namespace {
// What a proxy may say in answer to CONNECT before we give up on it.
constexpr std::size_t max_proxy_head = 64 * 1024;
constexpr std::size_t max_proxy_body = 64 * 1024;
}  // namespace

net::awaitable<void> transport::read_at_least(std::string& have, std::size_t n,
                                              const std::string& what) {
  char chunk[4096];
  while (have.size() < n) {
    boost::system::error_code ec;
    std::size_t got = co_await read_some(net::buffer(chunk, sizeof chunk), ec);
    have.append(chunk, got);
    if (have.size() >= n) break;
    if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
      throw connect_error("the " + what + " closed the connection during the handshake");
    }
    if (ec) throw connect_error("reading from the " + what + " failed: " + ec.message());
  }
}

net::awaitable<void> transport::http_connect_handshake(const std::string& where) {
  const std::string name = "proxy " + proxy_->redacted();
  std::string head = "CONNECT " + where + " HTTP/1.1\r\nHost: " + where + "\r\n";
  if (proxy_->has_credentials()) head += "Proxy-Authorization: " + proxy_authorization() + "\r\n";
  head += "\r\n";
  co_await send_all(head, name);
  boost::system::error_code ec;

  // The answer's head; a 2xx ends there (RFC 9110 9.3.6) and the tunnel begins.
  std::string in;
  std::size_t head_end = std::string::npos;
  char chunk[4096];
  while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
    if (in.size() > max_proxy_head) {
      throw protocol_error("the " + name + " sent a CONNECT answer head over 64 KiB");
    }
    std::size_t got = co_await read_some(net::buffer(chunk, sizeof chunk), ec);
    in.append(chunk, got);
    if (got == 0 && (ec == net::error::eof || ec == net::ssl::error::stream_truncated)) {
      throw connect_error("the " + name + " closed the connection before answering CONNECT " +
                          where);
    }
    if (ec && got == 0) {
      throw connect_error("reading the CONNECT answer from the " + name +
                          " failed: " + ec.message());
    }
  }
  // "HTTP/1.1 200 Connection established"
  int status = 0;
  std::string reason;
  {
    auto line_end = in.find("\r\n");
    std::string_view line(in.data(), line_end);
    if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ' ||
        !std::isdigit(static_cast<unsigned char>(line[9])) ||
        !std::isdigit(static_cast<unsigned char>(line[10])) ||
        !std::isdigit(static_cast<unsigned char>(line[11])) ||
        (line.size() > 12 && line[12] != ' ')) {
      throw protocol_error("the " + name +
                           " did not answer CONNECT with HTTP: its first line is \"" +
                           std::string(line.substr(0, 60)) + "\"");
    }
    status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (line.size() > 13) reason = std::string(line.substr(13));
  }
  if (status >= 200 && status < 300) {
    if (in.size() > head_end + 4) {
      throw protocol_error("the " + name +
                           " sent bytes after its CONNECT answer before the tunnel "
                           "was used");
    }
    co_return;
  }

  // A refusal: keep what the proxy said (bounded), then report it.
  std::string body;
  try {
    http1::response_parser parser(http1::parser_options{max_proxy_head, false});
    bool done = false;
    std::size_t offset = 0;
    auto drain = [&] {
      while (auto ev = parser.next_event()) {
        if (auto* b = std::get_if<http1::body_event>(&*ev)) {
          if (body.size() < max_proxy_body) {
            body.append(b->data.substr(0, max_proxy_body - body.size()));
          }
        } else if (std::holds_alternative<http1::end_event>(*ev)) {
          done = true;
        }
      }
    };
    while (!done && body.size() < max_proxy_body) {
      if (offset < in.size()) {
        std::size_t used = parser.feed(std::string_view(in).substr(offset));
        drain();
        offset += used;
        if (done) break;
      }
      in.erase(0, offset);
      offset = 0;
      std::size_t got = co_await read_some(net::buffer(chunk, sizeof chunk), ec);
      in.append(chunk, got);
      if (ec && got == 0) {
        if (ec == net::error::eof) {
          parser.feed_eof();
          drain();
        }
        break;
      }
    }
  } catch (const courier::error&) {
    // The status is what matters; a malformed or cut body is kept as far as it went.
  }
  std::string why = status == 407 || status == 401  // tinyproxy: 401 to wrong credentials
                        ? " (the proxy credentials are " +
                              std::string(proxy_->has_credentials() ? "wrong" : "missing") + ")"
                        : "";
  throw proxy_error(status, std::move(body),
                    "the " + name + " refused CONNECT " + where + ": " + std::to_string(status) +
                        (reason.empty() ? "" : " " + reason) + why);
}

namespace {
// Runs a SOCKS5 parser and names the proxy in its complaint about garbage.
template <class F>
auto parse_from(F parse, std::string_view bytes, const std::string& name) {
  try {
    return parse(bytes);
  } catch (const protocol_error& e) {
    throw protocol_error("the " + name + " answered garbage: " + e.what());
  }
}
}  // namespace

net::awaitable<void> transport::send_all(const std::string& bytes, const std::string& what) {
  const std::vector<net::const_buffer> buffers{net::buffer(bytes)};
  boost::system::error_code ec;
  co_await write(buffers, ec);
  if (ec) throw connect_error("sending to the " + what + " failed: " + ec.message());
}

net::awaitable<void> transport::socks5_handshake(const std::string& where,
                                                 clock::time_point until) {
  namespace socks5 = courier::proto::socks5;
  const std::string name = "SOCKS5 proxy " + proxy_->redacted();

  // socks5:// (without 'h') sends an address resolved here.
  std::string target_host = host_;
  if (proxy_->type() == courier::proxy::kind::socks5) {
    boost::system::error_code parse_ec;
    net::ip::make_address(host_, parse_ec);
    if (parse_ec) {
      auto resolver = std::make_unique<tcp::resolver>(ex_);
      deadline resolve_timer(ex_);
      resolve_timer.arm(until, [r = resolver.get()] { r->cancel(); });
      boost::system::error_code ec;
      auto results = co_await resolver->async_resolve(host_, std::to_string(port_),
                                                      net::redirect_error(net::use_awaitable, ec));
      resolve_timer.disarm();
      if (resolve_timer.expired()) {
        throw timeout_error("connect timeout: resolving host " + where + " did not finish in time");
      }
      if (ec || results.empty()) {
        throw connect_error("cannot resolve host " + where + " (for the " + name +
                            "): " + (ec ? ec.message() : std::string("no address")));
      }
      target_host = results.begin()->endpoint().address().to_string();
    }
  }

  std::string in;
  co_await send_all(socks5::encode_greeting(proxy_->has_credentials()), name);
  std::uint8_t method = 0;
  for (;;) {
    auto r = parse_from(socks5::parse_method_selection, in, name);
    if (auto* more = std::get_if<socks5::need_more>(&r)) {
      co_await read_at_least(in, more->total, name);
      continue;
    }
    method = std::get<socks5::method_selection>(r).method;
    in.erase(0, 2);
    break;
  }
  if (method == socks5::method_user_password && proxy_->has_credentials()) {
    co_await send_all(socks5::encode_user_password(proxy_->username(), proxy_->password()), name);
    for (;;) {
      auto r = parse_from(socks5::parse_auth_status, in, name);
      if (auto* more = std::get_if<socks5::need_more>(&r)) {
        co_await read_at_least(in, more->total, name);
        continue;
      }
      const auto status = std::get<socks5::auth_status>(r).status;
      if (status != 0) {
        throw proxy_error(256 + socks5::method_user_password, {},
                          "the " + name + " rejected the user name or password (RFC 1929 status " +
                              std::to_string(status) + ")");
      }
      in.erase(0, 2);
      break;
    }
  } else if (method == socks5::method_none_acceptable) {
    throw proxy_error(
        256 + method, {},
        "the " + name + " accepts none of the offered authentication methods" +
            (proxy_->has_credentials() ? "" : " (it may need a user name and password)"));
  } else if (method != socks5::method_no_auth) {
    throw protocol_error("the " + name + " chose authentication method " + std::to_string(method) +
                         ", which was not offered");
  }

  co_await send_all(socks5::encode_connect(target_host, port_), name);
  for (;;) {
    auto r = parse_from(socks5::parse_reply, in, name);
    if (auto* more = std::get_if<socks5::need_more>(&r)) {
      co_await read_at_least(in, more->total, name);
      continue;
    }
    const auto& rep = std::get<socks5::reply>(r);
    if (!rep.ok()) {
      throw proxy_error(rep.code, {},
                        "the " + name + " could not connect to " + where + ": " +
                            std::string(socks5::reply_message(rep.code)) + " (SOCKS5 reply " +
                            std::to_string(rep.code) + ")");
    }
    if (in.size() > rep.wire_size) {
      throw protocol_error("the " + name +
                           " sent bytes after its reply before the tunnel was used");
    }
    break;
  }
}

}  // namespace courier::asio_detail
