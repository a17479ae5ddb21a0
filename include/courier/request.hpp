// request<T>: an immutable description of an HTTP request and of how to read its response.
#pragma once

#include <courier/body.hpp>
#include <courier/capabilities.hpp>
#include <courier/headers.hpp>
#include <courier/method.hpp>
#include <courier/options.hpp>
#include <courier/progress.hpp>
#include <courier/response_as.hpp>
#include <courier/uri.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier {

template <class T>
class response;

/// Everything about a request except how its response is read. Backends take this; it is
/// also kept in each response as the request that produced it.
class request_data {
 public:
  /// The method; GET until a method call sets another.
  const courier::method& method() const noexcept { return st().method; }
  /// The uri with the query parameters added by query() appended; nullopt before a method
  /// call such as get(uri) has set it.
  std::optional<courier::uri> uri() const;
  /// The headers, in the order added.
  const courier::headers& headers() const noexcept { return st().headers; }
  /// The body; std::monostate when none was set.
  const courier::body& body() const noexcept { return st().body ? *st().body : no_body(); }
  /// How the request is sent: redirects, timeouts, limits, proxies.
  const request_options& options() const noexcept { return st().options; }
  /// True when a body was set.
  bool has_body() const noexcept { return st().body && st().body->index() != 0; }
  /// The progress callback set by on_progress(), or nullptr. Not part of options(), so that
  /// requests stay comparable by their options.
  const progress_callback* progress() const noexcept { return st().progress.get(); }

 protected:
  /// The empty body (std::monostate) that a request without one reports.
  static const courier::body& no_body();

  /// The parts of a request, shared between copies until one changes.
  struct state {
    /// The method.
    courier::method method{courier::method::get};
    /// The uri, without the query parameters added by query().
    std::optional<courier::uri> uri;
    /// The query parameters added by query(), not yet encoded.
    std::vector<std::pair<std::string, std::string>> query;
    /// The headers.
    courier::headers headers;
    /// The body, or null for none.
    std::shared_ptr<const courier::body> body;  // shared: copying a request never copies a body
    /// The options.
    request_options options;
    /// The progress callback, or null.
    std::shared_ptr<const progress_callback> progress;
  };
  /// The state to read.
  const state& st() const noexcept { return s_ ? *s_ : default_state(); }
  /// The state to change, copied first when another request still shares it.
  state& mut();

 private:
  static const state& default_state();
  // Shared by copies: every response keeps the request that produced it, and a copy then
  // costs a reference count rather than a uri, headers and options. Null: the default state.
  std::shared_ptr<state> s_;
};

/// A request whose response body is read as T. Every builder call returns a new request (on an
/// rvalue it moves, so chains cost no copies); a request can be sent any number of times.
template <class T>
class request : public request_data {
 public:
  /// A request with no method, uri, headers or body yet, whose response is read with `as`.
  /// Usually made by basic_request() or empty_request().
  explicit request(courier::response_as<T> as) : as_(std::move(as)) {}

  // --- method and uri -------------------------------------------------------------------
  /// The method and the uri; get(uri), post(uri), ... are shortcuts for it.
  request method(courier::method m, courier::uri u) const& { return copy().method(m, u); }
  /// The same on an rvalue: moves instead of copying.
  request method(courier::method m, courier::uri u) && {
    state& s = mut();
    s.method = std::move(m);
    s.uri = std::move(u);
    return std::move(*this);
  }
#define COURIER_METHOD_SHORTCUT(fn, m)                                \
  request fn(courier::uri u) const& {                                 \
    return method(courier::method::m, std::move(u));                  \
  }                                                                   \
  request fn(courier::uri u)&& {                                      \
    return std::move(*this).method(courier::method::m, std::move(u)); \
  }
  COURIER_METHOD_SHORTCUT(get, get)
  COURIER_METHOD_SHORTCUT(head, head)
  COURIER_METHOD_SHORTCUT(post, post)
  COURIER_METHOD_SHORTCUT(put, put)
  COURIER_METHOD_SHORTCUT(patch, patch)
  COURIER_METHOD_SHORTCUT(delete_, delete_)
  COURIER_METHOD_SHORTCUT(options, options)
#undef COURIER_METHOD_SHORTCUT

  /// The body; std::monostate when none was set.
  using request_data::body;
  /// The headers, in the order added.
  using request_data::headers;
  /// The method; GET until a method call sets another.
  using request_data::method;
  /// How the request is sent: redirects, timeouts, limits, proxies.
  using request_data::options;

  /// Appends name=value to the uri's query, percent-encoded. May come before or after get(uri).
  request query(std::string_view name, std::string_view value) const& {
    return copy().query(name, value);
  }
  /// The same on an rvalue: moves instead of copying.
  request query(std::string_view name, std::string_view value) && {
    mut().query.emplace_back(name, value);
    return std::move(*this);
  }

  // --- headers ------------------------------------------------------------------------------
  /// Adds a header (throws invalid_header for CR/LF or invalid names). With replace = true,
  /// fields of the same name are removed first.
  request header(std::string_view name, std::string_view value, bool replace = false) const& {
    return copy().header(name, value, replace);
  }
  /// The same on an rvalue: moves instead of copying.
  request header(std::string_view name, std::string_view value, bool replace = false) && {
    if (replace) {
      mut().headers.set(name, value);
    } else {
      mut().headers.add(name, value);
    }
    return std::move(*this);
  }
  /// Adds every field of `hs`, after the headers already set.
  request headers(const courier::headers& hs) const& {
    return copy().headers(hs);
  }
  /// The same on an rvalue: moves instead of copying.
  request headers(const courier::headers& hs) && {
    courier::headers& mine = mut().headers;
    for (const auto& f : hs)
      mine.add(f.name, f.value);
    return std::move(*this);
  }
  /// Sets Content-Type, replacing the body's default.
  request content_type(std::string_view ct) const& {
    return header("Content-Type", ct, true);
  }
  /// The same on an rvalue: moves instead of copying.
  request content_type(std::string_view ct) && {
    return std::move(*this).header("Content-Type", ct, true);
  }
  /// Authorization: Basic base64(user:password).
  request basic_auth(std::string_view user, std::string_view password) const& {
    return copy().basic_auth(user, password);
  }
  /// The same on an rvalue: moves instead of copying.
  request basic_auth(std::string_view user, std::string_view password) && {
    return std::move(*this).header("Authorization", basic_credentials(user, password), true);
  }
  /// Authorization: Bearer token.
  request bearer_auth(std::string_view token) const& {
    return copy().bearer_auth(token);
  }
  /// The same on an rvalue: moves instead of copying.
  request bearer_auth(std::string_view token) && {
    return std::move(*this).header("Authorization", "Bearer " + std::string(token), true);
  }

  // --- bodies -------------------------------------------------------------------------------
  /// A text body; Content-Type defaults to text/plain; charset=utf-8.
  request body(std::string text, std::string content_type = "text/plain; charset=utf-8") const& {
    return copy().body(std::move(text), std::move(content_type));
  }
  /// The same on an rvalue: moves instead of copying.
  request body(std::string text, std::string content_type = "text/plain; charset=utf-8") && {
    return std::move(*this).with_body(bytes_body{std::move(text), std::move(content_type)});
  }
  /// A text body from a C string (text/plain; charset=utf-8).
  request body(const char* text) const& {
    return body(std::string(text));
  }
  /// The same on an rvalue: moves instead of copying.
  request body(const char* text) && {
    return std::move(*this).body(std::string(text));
  }
  /// A binary body; Content-Type defaults to application/octet-stream.
  request body(std::span<const std::byte> bytes,
               std::string content_type = "application/octet-stream") const& {
    return copy().body(bytes, std::move(content_type));
  }
  /// The same on an rvalue: moves instead of copying.
  request body(std::span<const std::byte> bytes,
               std::string content_type = "application/octet-stream") && {
    std::string data(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return std::move(*this).with_body(bytes_body{std::move(data), std::move(content_type)});
  }
  /// A body read from a source as it is sent (see <courier/body_source.hpp>).
  request body(stream_body b) const& {
    return with_body(std::move(b));
  }
  /// The same on an rvalue: moves instead of copying.
  request body(stream_body b) && {
    return std::move(*this).with_body(std::move(b));
  }
  /// Any body value (file_body, form_body, multipart_body, ...).
  request with_body(courier::body b) const& {
    return copy().with_body(std::move(b));
  }
  /// The same on an rvalue: moves instead of copying.
  request with_body(courier::body b) && {
    mut().body = std::make_shared<const courier::body>(std::move(b));
    return std::move(*this);
  }
  /// A file read from disk as it is sent.
  request body_file(std::filesystem::path path,
                    std::string content_type = "application/octet-stream") const& {
    return with_body(file_body{std::move(path), std::move(content_type)});
  }
  /// The same on an rvalue: moves instead of copying.
  request body_file(std::filesystem::path path,
                    std::string content_type = "application/octet-stream") && {
    return std::move(*this).with_body(file_body{std::move(path), std::move(content_type)});
  }
  /// application/x-www-form-urlencoded fields.
  request form(std::vector<std::pair<std::string, std::string>> fields) const& {
    return with_body(form_body{std::move(fields)});
  }
  /// The same on an rvalue: moves instead of copying.
  request form(std::vector<std::pair<std::string, std::string>> fields) && {
    return std::move(*this).with_body(form_body{std::move(fields)});
  }
  /// multipart/form-data parts (fields and files).
  request multipart(std::vector<multipart_part> parts) const& {
    return with_body(multipart_body{std::move(parts)});
  }
  /// The same on an rvalue: moves instead of copying.
  request multipart(std::vector<multipart_part> parts) && {
    return std::move(*this).with_body(multipart_body{std::move(parts)});
  }

  // --- options ------------------------------------------------------------------------------
  /// Whether 3xx answers with a Location are followed (on by default).
  request follow_redirects(bool on) const& {
    return copy().follow_redirects(on);
  }
  /// The same on an rvalue: moves instead of copying.
  request follow_redirects(bool on) && {
    mut().options.follow_redirects = on;
    return std::move(*this);
  }
  /// The most redirects followed (20 by default); one more fails with too_many_redirects.
  request max_redirects(int n) const& {
    return copy().max_redirects(n);
  }
  /// The same on an rvalue: moves instead of copying.
  request max_redirects(int n) && {
    mut().options.max_redirects = n;
    return std::move(*this);
  }
  /// The longest DNS + TCP + TLS handshake (30 s by default).
  request connect_timeout(std::chrono::milliseconds d) const& {
    return copy().connect_timeout(d);
  }
  /// The same on an rvalue: moves instead of copying.
  request connect_timeout(std::chrono::milliseconds d) && {
    mut().options.connect_timeout = d;
    return std::move(*this);
  }
  /// The longest wait for bytes from the server once the request is sent (60 s by default).
  request read_timeout(std::chrono::milliseconds d) const& {
    return copy().read_timeout(d);
  }
  /// The same on an rvalue: moves instead of copying.
  request read_timeout(std::chrono::milliseconds d) && {
    mut().options.read_timeout = d;
    return std::move(*this);
  }
  /// The HTTP version to speak (see http_version and docs/http2.md); the backend's default
  /// (asio_backend_options::version) unless set.
  request version(http_version v) const& {
    return copy().version(v);
  }
  /// The same on an rvalue: moves instead of copying.
  request version(http_version v) && {
    mut().options.version = v;
    return std::move(*this);
  }
  /// A deadline for the whole exchange, redirects included.
  request timeout(std::chrono::milliseconds d) const& {
    return copy().timeout(d);
  }
  /// The same on an rvalue: moves instead of copying.
  request timeout(std::chrono::milliseconds d) && {
    mut().options.timeout = d;
    return std::move(*this);
  }
  /// The largest body kept in memory, after decoding (256 MiB by default); beyond it,
  /// body_too_large.
  request max_body_size(std::size_t n) const& {
    return copy().max_body_size(n);
  }
  /// The same on an rvalue: moves instead of copying.
  request max_body_size(std::size_t n) && {
    mut().options.max_body_size = n;
    return std::move(*this);
  }
  /// Whether compressed bodies are decoded (on by default).
  request decompress(bool on) const& {
    return copy().decompress(on);
  }
  /// The same on an rvalue: moves instead of copying.
  request decompress(bool on) && {
    mut().options.decompress = on;
    return std::move(*this);
  }
  /// Calls `f` as the body is sent and as the response body arrives, at most every
  /// options().progress_interval (100 ms by default) per direction, plus a final call.
  request on_progress(progress_callback f) const& {
    return copy().on_progress(std::move(f));
  }
  /// The same on an rvalue: moves instead of copying.
  request on_progress(progress_callback f) && {
    mut().progress = f ? std::make_shared<const progress_callback>(std::move(f)) : nullptr;
    return std::move(*this);
  }
  /// The shortest time between two progress calls per direction (100 ms by default).
  request progress_interval(std::chrono::milliseconds d) const& {
    return copy().progress_interval(d);
  }
  /// The same on an rvalue: moves instead of copying.
  request progress_interval(std::chrono::milliseconds d) && {
    mut().options.progress_interval = d;
    return std::move(*this);
  }
  /// Through this proxy (instead of the backend's proxy settings).
  request proxy(courier::proxy p) const& {
    return copy().proxy(std::move(p));
  }
  /// The same on an rvalue: moves instead of copying.
  request proxy(courier::proxy p) && {
    mut().options.proxy = proxy_settings::through(std::move(p));
    return std::move(*this);
  }
  /// With these proxy settings (instead of the backend's).
  request proxy(proxy_settings s) const& {
    return copy().proxy(std::move(s));
  }
  /// The same on an rvalue: moves instead of copying.
  request proxy(proxy_settings s) && {
    mut().options.proxy = std::move(s);
    return std::move(*this);
  }
  /// Directly, even when the backend has a proxy.
  request no_proxy() const& {
    return copy().no_proxy();
  }
  /// The same on an rvalue: moves instead of copying.
  request no_proxy() && {
    mut().options.proxy = proxy_settings::direct();
    return std::move(*this);
  }
  /// Replaces every option at once.
  request with_options(request_options o) const& {
    return copy().with_options(std::move(o));
  }
  /// The same on an rvalue: moves instead of copying.
  request with_options(request_options o) && {
    mut().options = std::move(o);
    return std::move(*this);
  }

  // --- how the response is read ---------------------------------------------------------------
  /// How the response body is read.
  const courier::response_as<T>& response_as() const noexcept {
    return as_;
  }
  /// The same request with its body read another way, e.g. as_json() or as_file(path).
  template <class U>
  request<U> response_as(courier::response_as<U> as) const {
    return request<U>(static_cast<const request_data&>(*this), std::move(as));
  }
  /// A request that reads the body as before and then applies `f` to the result.
  template <class F>
  auto map_response(F f) const {
    return response_as(as_.map(std::move(f)));
  }

  // --- sending ------------------------------------------------------------------------------
  /// Sends the request and blocks until the response has been read. Throws a courier::error.
  template <class Backend>
  courier::response<T> send(Backend& backend) const {
    if constexpr (detail::streams_body<T> && !streaming_capable<Backend>) {
      static_assert(detail::dependent_false<Backend>,
                    "courier: this backend cannot stream response bodies (it does not declare "
                    "supports_streaming = true), so as_stream() cannot be used with it; use "
                    "one that does, such as asio_backend, or read the body as_file()/as_bytes()");
    } else {
      return backend.send(*this);
    }
  }
  /// Sends the request; `token` (any Asio completion token) decides how the result arrives.
  /// The completion signature is void(std::exception_ptr, response<T>): on failure, the same
  /// exception send() would throw (co_await and std::future rethrow it). Honours the handler's
  /// cancellation slot (docs/cancellation.md).
  template <class Backend, class CompletionToken>
  auto async_send(Backend& backend, CompletionToken&& token) const {
    if constexpr (detail::streams_body<T> && !streaming_capable<Backend>) {
      static_assert(detail::dependent_false<Backend>,
                    "courier: this backend cannot stream response bodies (it does not declare "
                    "supports_streaming = true), so as_stream() cannot be used with it; use "
                    "one that does, such as asio_backend, or read the body as_file()/as_bytes()");
    } else {
      return backend.async_send(*this, std::forward<CompletionToken>(token));
    }
  }

  /// Opens a WebSocket instead of sending: the uri may be ws://, wss://, or http(s):// taken as
  /// its WebSocket twin. `handler` is ws::high_level{...} (the result is a buffered
  /// ws::websocket) or ws::low_level{listener} (the result is a ws::sender). Blocks until the
  /// upgrade is answered; a refused upgrade throws websocket_upgrade_failed.
  template <class Backend, class Handler>
  auto open_websocket(Backend& backend, const Handler& handler) const {
    if constexpr (!websocket_capable<Backend>) {
      static_assert(detail::dependent_false<Backend>,
                    "courier: this backend cannot open WebSockets (it does not declare "
                    "supports_websockets = true); use one that does, such as asio_backend");
    } else {
      return backend.open_websocket(data(), handler);
    }
  }
  /// open_websocket with any Asio completion token; the completion signature is
  /// void(std::exception_ptr, websocket_response<Handler::value_type>), the exception being the
  /// one open_websocket would throw. Cancelling it closes the half-open connection.
  template <class Backend, class Handler, class CompletionToken>
  auto async_open_websocket(Backend& backend, const Handler& handler,
                            CompletionToken&& token) const {
    if constexpr (!websocket_capable<Backend>) {
      static_assert(detail::dependent_false<Backend>,
                    "courier: this backend cannot open WebSockets (it does not declare "
                    "supports_websockets = true); use one that does, such as asio_backend");
    } else {
      return backend.async_open_websocket(data(), handler, std::forward<CompletionToken>(token));
    }
  }

  /// This request without its response type, as backends take it.
  const request_data& data() const noexcept {
    return *this;
  }

 private:
  template <class U>
  friend class request;
  request(const request_data& d, courier::response_as<T> as)
      : request_data(d), as_(std::move(as)) {}
  request copy() const {
    return *this;
  }
  static std::string basic_credentials(std::string_view user, std::string_view password);

  courier::response_as<T> as_;
};

namespace detail {
std::string basic_credentials(std::string_view user, std::string_view password);
request<expected<std::string, std::string>> make_empty_request();
request<expected<std::string, std::string>> make_basic_request();
}  // namespace detail

template <class T>
std::string request<T>::basic_credentials(std::string_view user, std::string_view password) {
  return detail::basic_credentials(user, password);
}

/// The type of basic_request() and empty_request(): a request whose body is read with
/// as_string_or_error(). Name it to keep a prepared request in a member or pass it around.
using basic_request_type = request<expected<std::string, std::string>>;

/// A request with no headers; the body is read with as_string_or_error().
inline basic_request_type empty_request() {
  return detail::make_empty_request();
}

/// Like empty_request(), plus Accept-Encoding for the decoders this build has (gzip, deflate,
/// and br and zstd when built with them):
/// the starting point for most requests.
inline basic_request_type basic_request() {
  return detail::make_basic_request();
}

}  // namespace courier
