#include "ws_events.hpp"

#include <nlohmann/json.hpp>

#include <iostream>

namespace courier::cli {

namespace {

using ordered = nlohmann::ordered_json;

void emit(const ordered& event) {
  std::cout << event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n"
            << std::flush;
}

}  // namespace

bool is_clean_close(std::uint16_t code) noexcept {
  return code == ws::close_code::normal || code == ws::close_code::going_away ||
         code == ws::close_code::no_status;
}

std::string_view close_code_name(std::uint16_t code) noexcept {
  switch (code) {
    case 1000:
      return "normal closure";
    case 1001:
      return "going away";
    case 1002:
      return "protocol error";
    case 1003:
      return "unsupported data";
    case 1005:
      return "no status code";
    case 1006:
      return "closed without a close frame";
    case 1007:
      return "invalid payload";
    case 1008:
      return "policy violation";
    case 1009:
      return "message too big";
    case 1010:
      return "mandatory extension";
    case 1011:
      return "internal error";
    case 1012:
      return "service restart";
    case 1013:
      return "try again later";
    case 1014:
      return "bad gateway";
    default:
      return "";
  }
}

void ws_events::opened(const std::string& url, const std::optional<std::string>& subprotocol,
                       bool compressed, bool announce) {
  std::lock_guard lock(mutex_);
  if (jsonl_) {
    ordered e{{"event", "open"}, {"url", url}};
    e["subprotocol"] = subprotocol ? ordered(*subprotocol) : ordered(nullptr);
    e["compressed"] = compressed;
    emit(e);
    return;
  }
  if (!announce) return;
  std::string line = "courier: connected to " + url;
  if (subprotocol) line += ", subprotocol " + *subprotocol;
  if (compressed) line += ", permessage-deflate";
  std::cerr << line << " (Ctrl-D closes)\n" << std::flush;
}

void ws_events::message(const ws::message& m) {
  std::lock_guard lock(mutex_);
  if (jsonl_) {
    ordered e{{"event", "message"}, {"type", m.is_text() ? "text" : "binary"}};
    if (m.is_binary()) e["encoding"] = std::string(format_name(binary_));
    e["data"] = m.is_text() ? m.data : encode_binary(m.data, binary_);
    emit(e);
    return;
  }
  if (m.is_text()) {
    std::cout << m.data << "\n";
  } else {
    std::cout << encode_binary(m.data, binary_) << "\n";
  }
  std::cout << std::flush;
}

void ws_events::closed(const ws::close_event& close, const std::string& where) {
  std::lock_guard lock(mutex_);
  if (jsonl_) {
    emit(ordered{{"event", "close"}, {"code", close.code}, {"reason", close.reason}});
  }
  std::string text = std::to_string(close.code);
  if (auto name = close_code_name(close.code); !name.empty()) text += " " + std::string(name);
  if (!close.reason.empty()) text += ", reason \"" + close.reason + "\"";
  std::cout.flush();
  if (is_clean_close(close.code)) {
    std::cerr << "courier: closed: " << text << "\n" << std::flush;
  } else {
    std::cerr << "courier: error: WebSocket closed abnormally (" << where << "): " << text << "\n"
              << std::flush;
  }
}

int ws_events::failed(const failure& f) {
  std::lock_guard lock(mutex_);
  if (jsonl_) {
    emit(ordered{{"event", "error"}, {"what", f.what}, {"why", f.why}, {"exit_code", f.exit_code}});
  }
  return report(f);
}

}  // namespace courier::cli
