// The seed's example in C++: open a WebSocket, send "Hello!", receive a text, print it, close.
// Usage: websocket_echo URL   (for example ws://127.0.0.1:8765/echo)
#include <courier/courier.hpp>

#include <iostream>

int main(int argc, char** argv) {
  namespace cr = courier;
  cr::asio_backend backend;
  auto response = cr::basic_request()
                      .get(cr::uri(argc > 1 ? argv[1] : "ws://127.0.0.1:8765/echo"))
                      .open_websocket(backend, cr::ws::high_level{});
  cr::ws::websocket ws = response.result;
  ws.send_text("Hello!");
  std::cout << "RECEIVED: " << ws.receive_text() << "\n";
  ws.close();
}
