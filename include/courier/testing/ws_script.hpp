// What a stubbed WebSocket server does: messages it sends first, replies computed from each
// message the client sends, and when it closes. The stub runs it as a real RFC 6455 server
// over an in-memory connection, so the client code under test is the real one.
#pragma once

#include <courier/headers.hpp>
#include <courier/ws/frame.hpp>
#include <courier/ws/message.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace courier::testing {

/// The frames the server sends back for one client message (possibly none). A close frame
/// (ws::frame::close(code, reason)) among them starts the server's close handshake.
using ws_replies = std::vector<ws::frame>;

/// A scripted WebSocket server, built step by step:
///   ws_script().send_text("welcome").echo().close_after(3, 1000, "bye")
/// Copies share what they received (received()).
class ws_script {
 public:
  ws_script();

  /// A frame the server sends as soon as the upgrade is done, before reading anything.
  ws_script& send(ws::frame f);
  /// A text frame the server sends first, as with send().
  ws_script& send_text(std::string text);
  /// A binary frame the server sends first, as with send().
  ws_script& send_binary(std::string bytes);
  /// Each whole message the client sends (fragments joined) is passed to `f`; the frames it
  /// returns are sent back in order. If `f` throws, the server closes with 1011.
  ws_script& reply(std::function<ws_replies(const ws::message&)> f);
  /// Sends each message back unchanged.
  ws_script& echo();
  /// The server closes with `code` and `reason` right after the frames given to send().
  ws_script& close(std::uint16_t code = ws::close_code::normal, std::string reason = {});
  /// The server closes once it has replied to `n` client messages.
  ws_script& close_after(std::size_t n, std::uint16_t code = ws::close_code::normal,
                         std::string reason = {});
  /// Accept the upgrade with this subprotocol (sent in Sec-WebSocket-Protocol whether or not
  /// the client offered it: a client that did not offer it fails the upgrade, as it should).
  ws_script& subprotocol(std::string name);
  /// An extra header on the 101 response.
  ws_script& header(std::string name, std::string value);
  /// After the greeting the server reads but answers nothing: no pong, no reply, no close
  /// frame (a peer that hung), so only the client's keep-alive and close timeouts end the
  /// connection. What it receives is still recorded.
  ws_script& unresponsive();

  /// Every whole message clients sent on connections run from this script, in order.
  std::vector<ws::message> received() const;
  /// How many connections ran this script.
  std::size_t connections() const;

  /// What the stub reads (one struct so that copies stay cheap to reason about).
  struct plan {
    /// The frames sent after the upgrade.
    std::vector<ws::frame> greeting;
    /// The reply to each client message (reply(), echo()); empty: none.
    std::function<ws_replies(const ws::message&)> on_message;
    /// The close sent after the greeting (close()).
    std::optional<ws::close_event> close_after_greeting;
    /// The client messages after which the server closes (close_after()).
    std::optional<std::size_t> close_after_messages;
    /// The close frame sent then.
    ws::close_event close_after_messages_event;
    /// The subprotocol accepted.
    std::optional<std::string> subprotocol;
    /// Extra headers on the 101 response.
    courier::headers headers;
    /// Answers nothing after the greeting (unresponsive()).
    bool unresponsive = false;
  };
  /// The plan the stub runs.
  const plan& steps() const noexcept { return plan_; }

  struct transcript;
  /// What connections run from this script received; shared by copies.
  const std::shared_ptr<transcript>& shared_transcript() const noexcept { return transcript_; }

 private:
  plan plan_;
  std::shared_ptr<transcript> transcript_;
};

}  // namespace courier::testing
