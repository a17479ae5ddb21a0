// Proxies: one proxy server (courier::proxy), which proxy a uri goes through
// (courier::proxy_settings), and the same read from the environment on request.
#pragma once

#include <courier/uri.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace courier {

/// One proxy server, parsed from a uri such as "http://user:secret@proxy.example:3128".
///   http://    an HTTP proxy: http:// requests are forwarded (absolute-form target), https://,
///              ws:// and wss:// go through a CONNECT tunnel
///   https://   the same, with TLS to the proxy itself (verified against the proxy's name)
///   socks5://  SOCKS5 (RFC 1928); host names are resolved here, the proxy gets an address
///   socks5h:// SOCKS5; the proxy resolves host names
/// Credentials (percent-encoded in the uri) give Basic proxy authentication for HTTP proxies
/// and username/password authentication (RFC 1929) for SOCKS5. A uri without a scheme is
/// http://; without a port, the port is 443 for https:// and 1080 for the others (as in curl).
class proxy {
 public:
  /// \var kind::http
  /// http://: an HTTP proxy; https:// and ws(s):// targets go through a CONNECT tunnel.
  /// \var kind::https
  /// https://: the same, with TLS to the proxy itself.
  /// \var kind::socks5
  /// socks5://: SOCKS5; host names are resolved here and the proxy gets an address.
  /// \var kind::socks5h
  /// socks5h://: SOCKS5; the proxy resolves host names.

  /// The proxy's protocol, from its uri's scheme. socks5h resolves names at the proxy.
  enum class kind { http, https, socks5, socks5h };

  /// Throws invalid_request (whose message never contains the password) for a bad uri or an
  /// unsupported scheme.
  explicit proxy(std::string_view uri);

  /// The protocol.
  kind type() const noexcept { return kind_; }
  /// True for socks5 and socks5h.
  bool is_socks() const noexcept { return kind_ == kind::socks5 || kind_ == kind::socks5h; }
  /// The host without brackets ("::1" for an IPv6 literal).
  const std::string& host() const noexcept { return host_; }
  /// The port (defaulted from the scheme when the uri had none).
  std::uint16_t port() const noexcept { return port_; }
  /// True when the uri had credentials (user@ or user:password@).
  bool has_credentials() const noexcept { return has_credentials_; }
  /// Decoded user name and password ("" when absent).
  const std::string& username() const noexcept { return username_; }
  /// Decoded password ("" when absent).
  const std::string& password() const noexcept { return password_; }

  /// "http://user:***@proxy.example:3128": the uri with the password hidden, for messages and
  /// logs. Every courier error that names a proxy uses this form.
  std::string redacted() const;

  /// Equal when every part, credentials included, is equal.
  friend bool operator==(const proxy&, const proxy&) = default;

 private:
  kind kind_ = kind::http;
  std::string host_;
  std::uint16_t port_ = 0;
  bool has_credentials_ = false;
  std::string username_, password_;
};

/// Which proxy each uri goes through. Empty (the default) means every connection is direct.
struct proxy_settings {
  /// For http:// and ws:// uris.
  std::optional<proxy> http{};
  /// For https:// and wss:// uris.
  std::optional<proxy> https{};
  /// For either, when the scheme's own entry is empty.
  std::optional<proxy> all{};
  /// Hosts reached directly, in NO_PROXY syntax: comma- or space-separated host names (each
  /// also matches its subdomains; a leading dot is ignored), IP addresses, CIDR ranges
  /// ("10.0.0.0/8", "fd00::/8"), or "*" for every host.
  std::string no_proxy{};

  /// Every uri through `p` (except those no_proxy names).
  static proxy_settings through(proxy p) {
    proxy_settings s;
    s.all = std::move(p);
    return s;
  }
  /// No proxy at all.
  static proxy_settings direct() { return {}; }

  /// The proxy for `u`, or nullopt to connect directly.
  std::optional<proxy> select(const uri& u) const;
  /// True when no proxy is set: every request goes directly.
  bool empty() const noexcept { return !http && !https && !all; }

  /// Equal when every field is equal.
  friend bool operator==(const proxy_settings&, const proxy_settings&) = default;
};

/// Reads http_proxy, https_proxy, all_proxy and no_proxy (each lower-case first, then
/// upper-case) the way curl does; see docs/proxies.md for where it differs. Called only when
/// you call it: courier never reads the environment by itself. Throws invalid_request when a
/// variable holds a uri that cannot be used (the message is redacted).
proxy_settings proxy_from_environment();

/// The same with another source of variables (for tests, or a config file): `lookup` returns
/// the value of a name, or nullopt when it is not set.
proxy_settings proxy_from_environment(
    const std::function<std::optional<std::string>(std::string_view name)>& lookup);

/// True when `host` (a name or an IP literal, without brackets) is named by `no_proxy` (the
/// NO_PROXY syntax above). Names compare case-insensitively; a trailing dot is ignored.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

}  // namespace courier
