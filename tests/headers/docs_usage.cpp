// The aggregates a user fills in, written the way README.md and docs/ write them. Compiled
// (never run) by tests/headers/check.sh with the warnings users turn on, so a member added
// without a default initializer shows up here as -Wmissing-field-initializers.
#include <courier/courier.hpp>
#include <courier/logging_backend.hpp>
#include <courier/testing/stub_backend.hpp>
#include <courier/to_curl.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace cr = courier;
namespace ct = courier::testing;
namespace ws = courier::ws;

namespace {

struct my_listener : ws::listener {
  void on_frame(const ws::frame& f) override { last = f.payload; }
  std::string last;
};

}  // namespace

int main() {
  using namespace std::chrono_literals;

  // docs/websockets.md: the low-level and high-level handlers.
  auto listener = std::make_shared<my_listener>();
  ws::low_level raw{listener};
  auto raw_inline = ws::low_level{std::make_shared<my_listener>()};
  ws::high_level buffered{ws::buffer_options{.capacity = 16, .on_full = ws::on_full::fail}};
  ws::buffer_options pings{.surface_pings = true};
  ws::buffer_options unbounded{.capacity = std::nullopt};
  ws::connection_options connection{.ping_interval = 20s};
  connection.compression = ws::compression_options{};
  ws::compression_options small_window{.client_max_window_bits = 10};

  // docs/testing.md: a stub's answer.
  ct::stub_backend stub;
  stub.when_any().respond_with([](const cr::request_data& req) {
    return ct::answer{200, "you sent " + ct::describe(req)};
  });

  // Options structs set by name.
  cr::asio_backend_options backend_options{.threads = 2};
  cr::tls_options tls{.insecure_skip_verify = false};
  cr::request_options request_options{.max_redirects = 3};
  cr::proxy_settings proxies{.no_proxy = "localhost"};
  cr::logging_options logging{.headers = true};
  cr::curl_options curl{.redact = true};
  cr::bytes_body text{"hello"};
  cr::file_body file{"/dev/null"};
  ws::close_event closed{ws::close_code::normal};

  return raw.listener && raw_inline.auto_pong && buffered.options.capacity && pings.auto_pong &&
                 !unbounded.capacity && connection.compression &&
                 small_window.client_max_window_bits && backend_options.threads == 2 &&
                 !tls.ca_file && request_options.follow_redirects && proxies.http == std::nullopt &&
                 logging.headers && curl.redact && text.content_type.empty() &&
                 !file.content_type.empty() && closed.reason.empty()
             ? 0
             : 1;
}
