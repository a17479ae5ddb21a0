// What clients sent to a scripted WebSocket server, shared by copies of its ws_script.
#pragma once

#include <courier/testing/ws_script.hpp>

#include <mutex>
#include <vector>

namespace courier::testing {

struct ws_script::transcript {
  std::mutex mutex;
  std::vector<ws::message> messages;
  std::size_t connections = 0;

  void add(ws::message m) {
    std::lock_guard lock(mutex);
    messages.push_back(std::move(m));
  }
  void connected() {
    std::lock_guard lock(mutex);
    ++connections;
  }
};

}  // namespace courier::testing
