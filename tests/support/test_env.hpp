// Where the test servers are: read from the KEY=VALUE file that tests/servers/start.sh writes
// and that $COURIER_TEST_ENV names (CTest sets it for every integration test).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace courier::test {

/// The value of `key`. Throws std::runtime_error, which fails the calling test with the
/// message, when $COURIER_TEST_ENV is unset, its file is unreadable, or the key is missing.
std::string env(std::string_view key);

/// Like env(), but nullopt when the key is missing (for servers a machine may lack, such as
/// NGINX_HTTP6_PORT without an IPv6 loopback). Still throws when the file itself is missing.
std::optional<std::string> try_env(std::string_view key);

/// env(key), or `fallback` when the key is missing.
std::string env_or(std::string_view key, std::string fallback);

/// env(key) as a port number; throws std::runtime_error unless it is one (1..65535).
std::uint16_t port(std::string_view key);

/// http://127.0.0.1:NGINX_HTTP_PORT/path (`path` should start with '/'; one is added if not).
std::string http_url(std::string_view path);
/// http://[::1]:NGINX_HTTP6_PORT/path.
std::string http6_url(std::string_view path);
/// http://127.0.0.1:HTTPBIN_PORT/path.
std::string httpbin_url(std::string_view path);
/// https://localhost:PORT/path, PORT from `port_key` (NGINX_HTTPS_EXPIRED_PORT, ...).
std::string https_url(std::string_view path, std::string_view port_key = "NGINX_HTTPS_PORT");
/// ws://127.0.0.1:WS_PORT/path.
std::string ws_url(std::string_view path);
/// wss://localhost:WSS_PORT/path (the certificate is for localhost).
std::string wss_url(std::string_view path);
/// https://localhost:NGINX_HTTP2_PORT/path: nginx with http2 on TLS (ALPN offers h2).
std::string h2_url(std::string_view path);
/// http://127.0.0.1:NGHTTPD_PORT/path: nghttpd, HTTP/2 with prior knowledge (h2c).
std::string h2c_url(std::string_view path);

/// The bytes of a file (empty when it cannot be read).
std::string read_file(const std::string& path);
/// The bytes of DOCROOT/name, the files the HTTP servers serve.
std::string docroot_file(std::string_view name);

}  // namespace courier::test
