#include "support/test_env.hpp"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace courier::test {
namespace {

std::string env_file_path() {
  const char* path = std::getenv("COURIER_TEST_ENV");
  if (path == nullptr || *path == '\0') {
    throw std::runtime_error(
        "COURIER_TEST_ENV is not set: run the integration tests through ctest (which starts the "
        "servers), or start them with tests/servers/start.sh STATE_DIR and set "
        "COURIER_TEST_ENV=STATE_DIR/env");
  }
  return path;
}

// The file is a few hundred bytes: read it on every call, so a restarted fixture is seen.
std::optional<std::string> lookup(std::string_view key) {
  const std::string path = env_file_path();
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read the test server env file " + path +
                             " (named by COURIER_TEST_ENV): did tests/servers/start.sh run?");
  }
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    if (std::string_view(line).substr(0, eq) == key) return line.substr(eq + 1);
  }
  return std::nullopt;
}

std::string with_leading_slash(std::string_view path) {
  if (!path.empty() && path.front() == '/') return std::string(path);
  return "/" + std::string(path);
}

std::string url(std::string_view scheme, std::string_view host, std::string_view port_key,
                std::string_view path) {
  return std::string(scheme) + "://" + std::string(host) + ":" + std::to_string(port(port_key)) +
         with_leading_slash(path);
}

}  // namespace

std::optional<std::string> try_env(std::string_view key) {
  return lookup(key);
}

std::string env_or(std::string_view key, std::string fallback) {
  return lookup(key).value_or(std::move(fallback));
}

std::string env(std::string_view key) {
  if (auto value = lookup(key)) return *value;
  throw std::runtime_error("the test server env file " + env_file_path() + " has no key " +
                           std::string(key));
}

std::uint16_t port(std::string_view key) {
  const std::string value = env(key);
  unsigned number = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc{} || end != value.data() + value.size() || number == 0 || number > 65535) {
    throw std::runtime_error("test server env key " + std::string(key) +
                             " is not a port number: '" + value + "'");
  }
  return static_cast<std::uint16_t>(number);
}

std::string http_url(std::string_view path) {
  return url("http", "127.0.0.1", "NGINX_HTTP_PORT", path);
}
std::string http6_url(std::string_view path) {
  return url("http", "[::1]", "NGINX_HTTP6_PORT", path);
}
std::string httpbin_url(std::string_view path) {
  return url("http", "127.0.0.1", "HTTPBIN_PORT", path);
}
std::string https_url(std::string_view path, std::string_view port_key) {
  return url("https", "localhost", port_key, path);
}
std::string ws_url(std::string_view path) {
  return url("ws", "127.0.0.1", "WS_PORT", path);
}
std::string h2_url(std::string_view path) {
  return https_url(path, "NGINX_HTTP2_PORT");
}
std::string h2c_url(std::string_view path) {
  return url("http", "127.0.0.1", "NGHTTPD_PORT", path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
std::string docroot_file(std::string_view name) {
  return read_file(env("DOCROOT") + "/" + std::string(name));
}

std::string wss_url(std::string_view path) {
  return url("wss", "localhost", "WSS_PORT", path);
}

}  // namespace courier::test
