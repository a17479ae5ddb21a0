// Two user-style classes that depend on a backend: the backend is a template parameter, so
// production code passes a courier::asio_backend and tests pass a courier::testing::stub_backend.
// Used by examples/testing_user_class.cpp, docs/testing.md and tests/testing/.
#pragma once

#include <courier/courier.hpp>
#include <courier/ws/stream.hpp>

#include <optional>
#include <string>
#include <vector>

namespace weather {

struct forecast {
  std::string city;
  int celsius = 0;
};

/// Asks a weather service for a city's temperature ("<city>:<celsius>" as text).
template <class Backend>
class client {
 public:
  client(Backend& backend, courier::uri base) : backend_(backend), base_(std::move(base)) {}

  /// The forecast, nullopt when the city is unknown (404). Other failures throw.
  std::optional<forecast> today(const std::string& city) {
    auto r = plain_text_.get(base_.with_path_segments({"forecast", city})).send(backend_);
    if (r.status() == 404) return std::nullopt;
    if (!r.body()) throw std::runtime_error("weather service: " + r.body().error());
    const std::string& text = *r.body();
    auto colon = text.find(':');
    if (colon == std::string::npos) throw std::runtime_error("weather service: bad answer " + text);
    return forecast{text.substr(0, colon), std::stoi(text.substr(colon + 1))};
  }

 private:
  Backend& backend_;
  courier::uri base_;
  // Prepared once; each call copies it and adds the method and uri.
  courier::basic_request_type plain_text_ = courier::basic_request().header("Accept", "text/plain");
};

}  // namespace weather

namespace chat {

/// Joins a chat room over a WebSocket: sends "join <name>", then each line said; collects
/// what the room sends until it closes.
template <class Backend>
class client {
 public:
  client(Backend& backend, courier::uri room) : backend_(backend), room_(std::move(room)) {}

  /// Says each line in turn and returns every message the room sent, in order, until the
  /// room closes the connection (or after `lines.size() + 1` answers, when it says bye).
  std::vector<std::string> talk(const std::string& name, const std::vector<std::string>& lines) {
    auto ws = courier::basic_request()
                  .get(room_)
                  .open_websocket(backend_, courier::ws::high_level{})
                  .result;
    std::vector<std::string> heard;
    ws.send_text("join " + name);
    for (const auto& l : lines)
      ws.send_text(l);
    ws.send_text("bye");
    for (auto& m : ws.messages())
      heard.push_back(m.data);
    return heard;
  }

 private:
  Backend& backend_;
  courier::uri room_;
};

}  // namespace chat
