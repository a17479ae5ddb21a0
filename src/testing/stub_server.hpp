// The server end of a stubbed WebSocket connection: reads the client's real upgrade request
// and answers it, as an HTTP refusal or as a 101 followed by a scripted RFC 6455 conversation.
#pragma once

#include "testing/memory_stream.hpp"

#include <courier/testing/answer.hpp>
#include <courier/testing/ws_script.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace courier::testing::detail {

struct server_plan {
  std::chrono::milliseconds delay{0};
  /// Set: run this script after a 101. Unset: answer `refusal` (any HTTP status) and close.
  std::optional<ws_script> script;
  answer refusal;
  /// Close without answering (a read error for the client).
  bool hang_up = false;
};

boost::asio::awaitable<void> run_stub_server(std::unique_ptr<memory_stream> stream,
                                             server_plan plan);

/// The standard reason phrase for a status ("Not Found"), or "Unknown".
std::string reason_for(int status);

}  // namespace courier::testing::detail
