#include <courier/testing/ws_script.hpp>

#include "testing/ws_transcript.hpp"

namespace courier::testing {

ws_script::ws_script() : transcript_(std::make_shared<transcript>()) {}

ws_script& ws_script::send(ws::frame f) {
  plan_.greeting.push_back(std::move(f));
  return *this;
}
ws_script& ws_script::send_text(std::string text) {
  return send(ws::frame::text(std::move(text)));
}
ws_script& ws_script::send_binary(std::string bytes) {
  return send(ws::frame::binary(std::move(bytes)));
}
ws_script& ws_script::reply(std::function<ws_replies(const ws::message&)> f) {
  plan_.on_message = std::move(f);
  return *this;
}
ws_script& ws_script::echo() {
  return reply([](const ws::message& m) {
    return ws_replies{ws::frame{m.type, true, false, false, false, m.data}};
  });
}
ws_script& ws_script::close(std::uint16_t code, std::string reason) {
  plan_.close_after_greeting = ws::close_event{code, std::move(reason)};
  return *this;
}
ws_script& ws_script::unresponsive() {
  plan_.unresponsive = true;
  return *this;
}

ws_script& ws_script::close_after(std::size_t n, std::uint16_t code, std::string reason) {
  plan_.close_after_messages = n;
  plan_.close_after_messages_event = ws::close_event{code, std::move(reason)};
  return *this;
}
ws_script& ws_script::subprotocol(std::string name) {
  plan_.subprotocol = std::move(name);
  return *this;
}
ws_script& ws_script::header(std::string name, std::string value) {
  plan_.headers.add(name, value);
  return *this;
}

std::vector<ws::message> ws_script::received() const {
  std::lock_guard lock(transcript_->mutex);
  return transcript_->messages;
}
std::size_t ws_script::connections() const {
  std::lock_guard lock(transcript_->mutex);
  return transcript_->connections;
}

}  // namespace courier::testing
