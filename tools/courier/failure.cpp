#include "failure.hpp"

#include "exit_codes.hpp"

#include <courier/ws/errors.hpp>

#include <iostream>

namespace courier::cli {

namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The library's messages name the endpoint ("cannot connect to 127.0.0.1:1: Connection
// refused"); our line already shows it in parentheses, so keep only what follows it.
std::string cause_after_endpoint(std::string message, std::string_view where) {
  // The library's own advice is phrased for C++ callers; the CLI gives its own hint instead.
  if (auto p = message.find(" (pass a CA file with tls_options"); p != std::string::npos) {
    if (auto end = message.find(')', p); end != std::string::npos) message.erase(p, end + 1 - p);
  }
  if (!where.empty()) {
    if (auto p = message.find(where); p != std::string::npos) {
      std::string_view rest = std::string_view(message).substr(p + where.size());
      for (std::string_view lead : {" failed: ", ": "}) {
        if (rest.substr(0, lead.size()) == lead && rest.size() > lead.size()) {
          return std::string(rest.substr(lead.size()));
        }
      }
    }
  }
  return message;
}

}  // namespace

std::string host_port(const courier::uri& u) {
  std::string host(u.host());
  if (u.is_ipv6_host()) host = "[" + host + "]";
  return host + ":" + std::to_string(u.port());
}

failure describe(const courier::error& e, std::string_view where) {
  failure f;
  f.where = std::string(where);
  f.why = cause_after_endpoint(e.what(), where);
  const auto code = e.code();
  const std::string message = e.what();
  if (code == errc::invalid_request) {
    f.what = "invalid request";
    f.exit_code = exit_usage;
  } else if (code == errc::connect_failed) {
    if (contains(message, "resolve")) {
      f.what = "cannot resolve host";
      f.hint = "check the host name in the URL";
    } else {
      f.what = "cannot connect";
      f.hint = "is the server running and listening on that port?";
    }
    f.exit_code = exit_connect;
  } else if (code == errc::timeout) {
    f.what = "timed out";
    f.hint = contains(message, "connect")
                 ? "the server did not accept the connection in time; see --connect-timeout"
                 : "the server did not answer in time; see --timeout";
    f.exit_code = exit_timeout;
  } else if (code == errc::tls_failed) {
    f.what = "TLS handshake failed";
    if (contains(message, "expired")) {
      f.hint =
          "the server's certificate has expired: tell its owner (--insecure would skip "
          "verification, and with it all protection against impostors)";
    } else {
      f.hint =
          "if the server uses a private CA, pass it with --cacert FILE (--insecure skips "
          "verification, and with it all protection against impostors)";
    }
    f.exit_code = exit_tls;
  } else if (code == errc::read_failed) {
    f.what = "connection broken";
    f.exit_code = exit_protocol;
  } else if (code == errc::write_failed) {
    f.what = "cannot send the request";
    f.exit_code = exit_protocol;
  } else if (code == errc::protocol_error) {
    f.what = "protocol error";
    f.exit_code = exit_protocol;
  } else if (code == errc::too_many_redirects) {
    f.what = "too many redirects";
    f.hint = "raise --max-redirects, or use --no-follow to see the first redirect";
    f.exit_code = exit_redirects;
  } else if (code == errc::body_too_large) {
    f.what = "response too large";
    f.hint = "save it to a file with -o FILE";
    f.exit_code = exit_failure;
  } else if (code == errc::file_error) {
    f.what = "file error";
    f.exit_code = exit_failure;
  } else if (code == errc::websocket_upgrade_failed) {
    f.what = "WebSocket upgrade refused";
    if (const auto* u = dynamic_cast<const websocket_upgrade_failed*>(&e);
        u && u->status() != 101) {
      f.why = "the server answered " + std::to_string(u->status()) + " instead of 101";
      std::string body = u->body().substr(0, 200);
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
        body.pop_back();
      if (!body.empty() && body.find('\n') == std::string::npos) f.why += ": " + body;
      if (u->status() == 404) f.hint = "check the path in the URL";
      if (u->status() == 401 || u->status() == 403) {
        f.hint = "the server wants credentials: add a header with -H 'Authorization: ...'";
      }
    }
    f.exit_code = exit_ws_refused;
  } else if (code == errc::websocket_closed) {
    f.what = "WebSocket closed";
    f.exit_code = exit_ws_closed;
  } else if (code == errc::websocket_buffer_full) {
    f.what = "WebSocket buffer full";
    f.exit_code = exit_failure;
  } else if (code == errc::proxy_error) {
    f.what = "the proxy refused";
    f.why = message;  // it names the (redacted) proxy, which the endpoint cut would drop
    if (const auto* p = dynamic_cast<const proxy_error*>(&e);
        p && (p->status() == 407 || p->status() == 401 || p->status() > 256)) {
      f.hint = "the proxy wants credentials: --proxy http://USER:PASS@HOST:PORT";
    }
    f.exit_code = exit_connect;
  } else if (code == errc::operation_aborted) {
    f.what = "aborted";
    f.exit_code = exit_failure;
  } else {
    f.what = "request failed";
    f.exit_code = exit_failure;
  }
  return f;
}

failure describe(const usage_error& e) {
  failure f;
  f.what = "bad command line";
  f.why = e.what();
  f.hint = e.hint();
  f.exit_code = exit_usage;
  return f;
}

int report(const failure& f) {
  std::cout.flush();
  std::string line = "courier: error: " + f.what;
  if (!f.where.empty()) line += " (" + f.where + ")";
  if (!f.why.empty()) line += ": " + f.why;
  std::cerr << line << "\n";
  if (!f.hint.empty()) std::cerr << "courier: hint: " << f.hint << "\n";
  std::cerr.flush();
  return f.exit_code;
}

void warn(std::string_view text) {
  std::cout.flush();
  std::cerr << "courier: warning: " << text << "\n";
}

}  // namespace courier::cli
