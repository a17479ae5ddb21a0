// A uri value: parsed and checked when made, immutable afterwards.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace courier {

/// An absolute uri (http, https, ws, wss, or any scheme a backend may accept).
/// Parsing happens in the constructor: an invalid uri throws invalid_uri there, at the call
/// that made it, not later when a request is sent. Components are kept percent-encoded.
class uri {
 public:
  /// An empty uri: a placeholder (in a default-made response), never a valid target.
  uri() = default;
  /// Parses `text`; throws invalid_uri with the reason if it is not an absolute uri.
  explicit uri(std::string_view text);
  /// Like the constructor, but returns nullopt instead of throwing.
  static std::optional<uri> try_parse(std::string_view text);

  /// The scheme, e.g. "https".
  std::string_view scheme() const noexcept { return part(scheme_part); }
  /// The host without brackets (an IPv6 literal is returned as "::1").
  std::string_view host() const noexcept { return part(host_part); }
  /// The port written in the uri, or the scheme's default (80 for http/ws, 443 for https/wss).
  std::uint16_t port() const noexcept;
  /// True when the uri names its port.
  bool has_explicit_port() const noexcept { return port_ != 0; }
  /// user:password as written (percent-encoded), or empty.
  std::string_view userinfo() const noexcept { return part(userinfo_part); }
  /// The encoded path; "/" when the uri has none.
  std::string_view path() const noexcept {
    const std::string_view p = part(path_part);
    return p.empty() ? std::string_view("/") : p;
  }
  /// The encoded query without '?', or nullopt when there is none.
  std::optional<std::string_view> query() const noexcept;
  /// The fragment without '#', or nullopt when there is none (never sent).
  std::optional<std::string_view> fragment() const noexcept;

  bool is_secure() const noexcept;  ///< https or wss
  /// True for an IPv6 literal host.
  bool is_ipv6_host() const noexcept { return host().find(':') != std::string_view::npos; }

  /// path?query, as used in an HTTP request line.
  std::string target() const;
  /// scheme://host:port with the port always written: the key for pools and same-origin checks.
  std::string origin() const;
  /// host, or host:port when the port is not the default, for the Host header.
  std::string authority() const;

  /// A new uri with `segment` percent-encoded and appended to the path.
  uri with_path_segment(std::string_view segment) const;
  /// A new uri with each segment appended, in order.
  uri with_path_segments(std::initializer_list<std::string_view> segments) const;
  /// A new uri with name=value appended to the query, both percent-encoded.
  uri with_query_param(std::string_view name, std::string_view value) const;
  /// A new uri with another scheme (for example ws -> http for the handshake).
  uri with_scheme(std::string_view scheme) const;
  /// Resolves a reference such as a Location header against this uri (RFC 3986, 5.2).
  uri resolve(std::string_view reference) const;

  /// The whole uri, encoded.
  std::string str() const;

  /// Equal when the encoded forms are equal.
  friend bool operator==(const uri& a, const uri& b) { return a.str() == b.str(); }

 private:
  enum part_index { scheme_part, userinfo_part, host_part, path_part, query_part, fragment_part };
  std::string_view part(part_index i) const noexcept {
    const std::uint32_t begin = i == scheme_part ? 0 : ends_[i - 1];
    return {text_.get() + begin, ends_[i] - begin};
  }

  // The six components, percent-encoded, one after another in one immutable buffer that copies
  // share: a uri is copied with a reference count and moved with a pointer. ends_[i] is where
  // component i ends (the scheme is lower case, the host has no brackets).
  std::shared_ptr<const char[]> text_;
  std::array<std::uint32_t, 6> ends_{};
  std::uint16_t port_ = 0;
  bool has_query_ = false, has_fragment_ = false;
  friend struct uri_access;
};

}  // namespace courier
