// Testing your own code with courier::testing::stub_backend: the classes in
// testing_clients.hpp take their backend as a template parameter; here they talk to a stub
// instead of a server. Needs no network. Usage: testing_user_class
#include "testing_clients.hpp"

#include <courier/testing/stub_backend.hpp>

#include <iostream>

namespace cr = courier;
namespace ct = courier::testing;

int check(bool ok, const char* what) {
  std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
  return ok ? 0 : 1;
}

int main() {
  int failures = 0;

  // HTTP: rules answer like the weather service would.
  ct::stub_backend stub;
  stub.when(ct::path_is("/forecast/Paris")).respond(200, "Paris:21");
  stub.when(ct::path_starts_with("/forecast/")).respond(404, "unknown city");
  weather::client<ct::stub_backend> weather(stub, cr::uri("https://weather.example"));
  auto paris = weather.today("Paris");
  failures += check(paris && paris->celsius == 21, "Paris is 21 degrees");
  failures += check(!weather.today("Atlantis"), "Atlantis is unknown");
  failures += check(stub.recorded_count() == 2, "two requests were made");
  failures += check(stub.recorded()[0].request.headers().get("Accept") == "text/plain",
                    "the client asked for text");

  // WebSocket: a scripted room greets, echoes what is said, and closes after "bye".
  ct::ws_script room;
  room.send_text("welcome").reply([](const cr::ws::message& m) {
    if (m.data == "bye") return ct::ws_replies{cr::ws::frame::close(1000, "see you")};
    return ct::ws_replies{cr::ws::frame::text("echo: " + m.data)};
  });
  stub.when(ct::uri_is("wss://chat.example/room")).respond_websocket(room);
  chat::client<ct::stub_backend> chat(stub, cr::uri("wss://chat.example/room"));
  auto heard = chat.talk("ada", {"hello"});
  failures += check(heard == std::vector<std::string>{"welcome", "echo: join ada", "echo: hello"},
                    "the room answered in order");
  failures += check(room.received().back().data == "bye", "the client said bye last");
  return failures == 0 ? 0 : 1;
}
