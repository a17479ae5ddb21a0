// What `courier ws` reports: messages on stdout, connection events on stderr, or every event
// as one JSON object per line (--jsonl). Safe to call from several threads.
#pragma once

#include "binary_text.hpp"
#include "failure.hpp"

#include <courier/ws/frame.hpp>
#include <courier/ws/message.hpp>

#include <mutex>
#include <optional>
#include <string>

namespace courier::cli {

/// True for the close codes that end a connection normally: 1000, 1001, and 1005 (no code).
bool is_clean_close(std::uint16_t code) noexcept;
/// "normal closure", "going away", ... ("" for codes without a name).
std::string_view close_code_name(std::uint16_t code) noexcept;

class ws_events {
 public:
  ws_events(bool jsonl, binary_format binary) : jsonl_(jsonl), binary_(binary) {}

  void opened(const std::string& url, const std::optional<std::string>& subprotocol,
              bool compressed, bool announce);
  void message(const ws::message& m);
  /// The close the server sent (or answered with). Reported as an error when it is not clean.
  void closed(const ws::close_event& close, const std::string& where);
  /// A failure: the stderr line (and an "error" event with --jsonl). Returns its exit code.
  int failed(const failure& f);

 private:
  std::mutex mutex_;
  bool jsonl_;
  binary_format binary_;
};

}  // namespace courier::cli
