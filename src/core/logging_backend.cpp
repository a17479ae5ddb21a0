#include <courier/logging_backend.hpp>

#include <array>
#include <cstdio>

namespace courier::detail {

namespace {

constexpr std::array<std::string_view, 4> always_sensitive{"Authorization", "Proxy-Authorization",
                                                           "Cookie", "Set-Cookie"};

bool sensitive(std::string_view name, const logging_options& o) {
  for (auto s : always_sensitive) {
    if (iequals(s, name)) return true;
  }
  for (const auto& s : o.redact_headers) {
    if (iequals(s, name)) return true;
  }
  return false;
}

std::string target(const request_data& req) {
  auto u = req.uri();
  return req.method().name() + " " + (u ? u->str() : std::string("(no uri)"));
}

std::string millis(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// Text a log line can hold: cut at `max`, with anything but printable ASCII and UTF-8 bytes
// (control characters, which could forge log lines) escaped.
std::string printable(std::string_view body, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < body.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(body[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (body.size() > max) out += "... (" + std::to_string(body.size()) + " bytes)";
  return out;
}

void append_details(log_record& r) {
  for (const auto& f : r.headers)
    r.line += "\n    " + f.name + ": " + f.value;
  if (r.body) r.line += "\n    body: " + *r.body;
}

}  // namespace

courier::headers redact_headers(const courier::headers& h, const logging_options& o) {
  courier::headers out;
  for (const auto& f : h)
    out.add_unchecked(f.name, sensitive(f.name, o) ? "[REDACTED]" : f.value);
  return out;
}

log_record request_record(const request_data& req, bool websocket, const logging_options& o) {
  log_record r;
  r.what = log_record::kind::request;
  r.websocket = websocket;
  r.method = req.method().name();
  auto u = req.uri();
  r.uri = u ? u->str() : std::string();
  r.line = std::string("--> ") + (websocket ? "WebSocket " : "") + target(req);
  if (o.headers) r.headers = redact_headers(req.headers(), o);
  if (o.bodies) {
    if (const auto* b = std::get_if<bytes_body>(&req.body())) {
      r.body = printable(b->data, o.max_body_bytes);
    } else if (std::holds_alternative<file_body>(req.body())) {
      r.body = "(file " + std::get<file_body>(req.body()).path.string() + ")";
    } else if (std::holds_alternative<form_body>(req.body())) {
      r.body =
          "(form, " + std::to_string(std::get<form_body>(req.body()).fields.size()) + " fields)";
    } else if (std::holds_alternative<multipart_body>(req.body())) {
      r.body = "(multipart, " + std::to_string(std::get<multipart_body>(req.body()).parts.size()) +
               " parts)";
    }
  }
  append_details(r);
  return r;
}

log_record response_record(const request_data& req, bool websocket, const response_head& head,
                           const std::string* body, std::chrono::steady_clock::duration d,
                           const logging_options& o) {
  log_record r;
  r.what = log_record::kind::response;
  r.websocket = websocket;
  r.method = req.method().name();
  auto u = req.uri();
  r.uri = u ? u->str() : std::string();
  r.status = head.status;
  r.reason = head.reason;
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  r.line = "<-- " + std::to_string(head.status) + (head.reason.empty() ? "" : " " + head.reason) +
           " " + (websocket ? "WebSocket " : "") + target(req) + " (" + millis(d) + ")";
  if (o.headers) r.headers = redact_headers(head.headers, o);
  if (o.bodies && body) r.body = printable(*body, o.max_body_bytes);
  append_details(r);
  return r;
}

log_record failure_record(const request_data& req, bool websocket, boost::system::error_code ec,
                          std::string message, std::chrono::steady_clock::duration d) {
  log_record r;
  r.what = log_record::kind::failure;
  r.websocket = websocket;
  r.method = req.method().name();
  auto u = req.uri();
  r.uri = u ? u->str() : std::string();
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  r.error = ec;
  r.error_message = std::move(message);
  r.line = std::string("<-- FAILED ") + (websocket ? "WebSocket " : "") + target(req) + " (" +
           millis(d) + "): " + printable(r.error_message, 2048);
  return r;
}

std::string failure_message(std::exception_ptr e, boost::system::error_code& ec) {
  try {
    std::rethrow_exception(e);
  } catch (const courier::error& err) {
    ec = err.code();
    return err.what();
  } catch (const std::exception& err) {
    ec = make_error_code(errc::protocol_error);
    return err.what();
  } catch (...) {
    ec = make_error_code(errc::protocol_error);
    return "unknown error";
  }
}

}  // namespace courier::detail
