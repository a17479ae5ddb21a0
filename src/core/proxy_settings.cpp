// Parsing proxy uris (by hand, so that no error message can echo a password), choosing the
// proxy for a uri, and reading the environment like curl.
#include <courier/error.hpp>
#include <courier/proxy.hpp>
#include "core/quoted_input.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace courier {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes userinfo; nullopt on a broken escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

proxy::proxy(std::string_view text) {
  // The message shows the uri only up to the credentials.
  auto fail = [&](const std::string& why) -> void {
    std::string shown(text);
    if (auto at = shown.rfind('@'); at != std::string::npos) {
      auto scheme_end = shown.find("://");
      std::size_t from = scheme_end == std::string::npos ? 0 : scheme_end + 3;
      if (from <= at) shown.replace(from, at - from, "***");
    }
    throw invalid_request("invalid proxy uri " + detail::quoted_input(shown) + ": " + why);
  };
  std::string_view rest = text;
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front())))
    rest.remove_prefix(1);
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back())))
    rest.remove_suffix(1);
  if (rest.empty()) fail("it is empty");

  std::string scheme = "http";
  if (auto p = rest.find("://"); p != std::string_view::npos) {
    scheme = lower(rest.substr(0, p));
    rest.remove_prefix(p + 3);
  }
  if (scheme == "http") {
    kind_ = kind::http;
  } else if (scheme == "https") {
    kind_ = kind::https;
  } else if (scheme == "socks5") {
    kind_ = kind::socks5;
  } else if (scheme == "socks5h") {
    kind_ = kind::socks5h;
  } else {
    fail("unsupported scheme " + detail::quoted_input(scheme, 64) +
         " (use http, https, socks5 or socks5h)");
  }
  // A trailing "/" is common in HTTP_PROXY values; any other path has no meaning for a proxy.
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") fail("a proxy uri has no path");
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    auto colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    auto pass = colon == std::string_view::npos ? std::optional<std::string>("")
                                                : percent_decode(userinfo.substr(colon + 1));
    if (!user || !pass) fail("bad percent-encoding in the credentials");
    has_credentials_ = true;
    username_ = std::move(*user);
    password_ = std::move(*pass);
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) fail("unclosed '[' in the host");
    host_ = std::string(rest.substr(1, close - 1));
    auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') fail("unexpected characters after the host");
      port_text = after.substr(1);
      if (port_text.empty()) fail("empty port");
    }
    for (char c : host_) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        fail("bad IPv6 address");
      }
    }
  } else {
    auto colon = rest.rfind(':');
    host_ = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) fail("empty port");
    }
    for (char c : host_) {
      if (!valid_host_char(c)) fail("bad character in the host");
    }
  }
  if (host_.empty()) fail("no host");
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      fail("bad port");
    }
    port_ = static_cast<std::uint16_t>(value);
  } else {
    port_ = kind_ == kind::https ? 443 : 1080;  // as curl: 1080 unless the proxy speaks TLS
  }
  host_ = lower(host_);
}

std::string proxy::redacted() const {
  static constexpr const char* names[] = {"http", "https", "socks5", "socks5h"};
  std::string out = names[static_cast<int>(kind_)];
  out += "://";
  if (has_credentials_) {
    // The user name is shown as typed (it helps diagnose a 407); the password never is.
    for (char c : username_) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') {
        out += c;
      } else {
        out += '%';
        static constexpr char hex[] = "0123456789ABCDEF";
        out += hex[static_cast<unsigned char>(c) >> 4];
        out += hex[static_cast<unsigned char>(c) & 15];
      }
    }
    out += ":***@";
  }
  // Appended piece by piece: `"[" + host_` trips GCC 12's -Wrestrict false positive at -O3.
  const bool bracket = host_.find(':') != std::string::npos;
  if (bracket) out += '[';
  out += host_;
  if (bracket) out += ']';
  out += ':';
  out += std::to_string(port_);
  return out;
}

std::optional<proxy> proxy_settings::select(const uri& u) const {
  const auto scheme = u.scheme();
  const bool secure = scheme == "https" || scheme == "wss";
  const std::optional<proxy>& own = secure ? https : http;
  const std::optional<proxy>& chosen = own ? own : all;
  if (!chosen) return std::nullopt;
  if (!no_proxy.empty() && no_proxy_matches(no_proxy, u.host())) return std::nullopt;
  return chosen;
}

proxy_settings proxy_from_environment(
    const std::function<std::optional<std::string>(std::string_view name)>& lookup) {
  // Lower case first, as curl does. An empty value counts as unset.
  // The value and the name of the variable it came from (which an error names).
  struct found {
    std::string value;
    std::string_view name;
  };
  auto read = [&](std::string_view lower_name,
                  std::string_view upper_name) -> std::optional<found> {
    for (auto name : {lower_name, upper_name}) {
      if (auto v = lookup(name); v && !v->empty()) return found{std::move(*v), name};
    }
    return std::nullopt;
  };
  auto parse = [](const found& f) {
    try {
      return proxy(f.value);
    } catch (const invalid_request& e) {
      throw invalid_request(std::string(f.name) + ": " + e.what());
    }
  };
  proxy_settings s;
  if (auto v = read("http_proxy", "HTTP_PROXY")) s.http = parse(*v);
  if (auto v = read("https_proxy", "HTTPS_PROXY")) s.https = parse(*v);
  if (auto v = read("all_proxy", "ALL_PROXY")) s.all = parse(*v);
  if (auto v = read("no_proxy", "NO_PROXY")) s.no_proxy = std::move(v->value);
  return s;
}

proxy_settings proxy_from_environment() {
  return proxy_from_environment([](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  });
}

}  // namespace courier
