#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/uri.hpp>
#include "core/hot_path.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>

namespace courier {

struct uri_access {
  static std::optional<uri> from_view(boost::urls::url_view v, std::string* why) {
    uri u;
    u.scheme_ = v.scheme();
    std::transform(u.scheme_.begin(), u.scheme_.end(), u.scheme_.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!v.has_authority() || v.encoded_host().empty()) {
      if (why) *why = "it has no host";
      return std::nullopt;
    }
    std::string host(v.encoded_host());
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    u.host_ = std::move(host);
    if (v.has_port()) {
      auto p = v.port();
      unsigned value = 0;
      auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
      if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || value == 0 ||
          value > 65535) {
        if (why) *why = "its port \"" + std::string(p) + "\" is not a number from 1 to 65535";
        return std::nullopt;
      }
      u.port_ = static_cast<std::uint16_t>(value);
    }
    u.userinfo_ = v.encoded_userinfo();
    u.path_ = v.encoded_path();
    // RFC 3986 3.3: after an authority the path is empty or starts with "/". Boost.URL 1.81
    // accepts "http://@a@b/" as host "a" and path "@b/", which would print as host "b".
    if (!u.path_.empty() && u.path_.front() != '/') {
      if (why) *why = "its path \"" + u.path_.substr(0, 64) + "\" does not start with \"/\"";
      return std::nullopt;
    }
    u.has_query_ = v.has_query();
    if (u.has_query_) u.query_ = v.encoded_query();
    u.has_fragment_ = v.has_fragment();
    if (u.has_fragment_) u.fragment_ = v.encoded_fragment();
    return u;
  }

  static std::optional<uri> parse(std::string_view text, std::string* why) {
    if (text.empty()) {
      if (why) *why = "it is empty";
      return std::nullopt;
    }
    auto r = boost::urls::parse_uri(text);
    if (!r) {
      if (why) {
        if (text.find("://") == std::string_view::npos) {
          *why = "it has no scheme (write it as http://" + std::string(text.substr(0, 64)) + ")";
        } else if (text.find_first_of(" \t\r\n") != std::string_view::npos) {
          *why = "it holds whitespace; percent-encode it or use with_path_segment/with_query_param";
        } else {
          *why = r.error().message();
        }
      }
      return std::nullopt;
    }
    return from_view(*r, why);
  }
};

namespace {

[[noreturn]] void throw_invalid(std::string_view text, const std::string& why) {
  std::string shown(text.substr(0, 200));
  throw invalid_uri("invalid uri \"" + shown + "\": " + why);
}

uri reparse(const boost::urls::url& u) {
  std::string why;
  auto parsed = uri_access::parse(u.buffer(), &why);
  if (!parsed) throw_invalid(u.buffer(), why);
  return *parsed;
}

}  // namespace

uri::uri(std::string_view text) {
  std::string why;
  auto parsed = uri_access::parse(text, &why);
  if (!parsed) throw_invalid(text, why);
  *this = std::move(*parsed);
}

std::optional<uri> uri::try_parse(std::string_view text) {
  return uri_access::parse(text, nullptr);
}

COURIER_HOT std::uint16_t uri::port() const noexcept {
  if (port_ != 0) return port_;
  if (scheme_ == "https" || scheme_ == "wss") return 443;
  if (scheme_ == "http" || scheme_ == "ws") return 80;
  return 0;
}

std::optional<std::string_view> uri::query() const noexcept {
  if (!has_query_) return std::nullopt;
  return std::string_view(query_);
}

std::optional<std::string_view> uri::fragment() const noexcept {
  if (!has_fragment_) return std::nullopt;
  return std::string_view(fragment_);
}

bool uri::is_secure() const noexcept {
  return scheme_ == "https" || scheme_ == "wss";
}

COURIER_HOT std::string uri::target() const {
  std::string t(path());
  if (has_query_) {
    t += '?';
    t += query_;
  }
  return t;
}

namespace {
std::string host_for_authority(const std::string& host) {
  if (host.find(':') != std::string::npos) return "[" + host + "]";
  return host;
}
}  // namespace

COURIER_HOT std::string uri::origin() const {
  // Built once per request (it keys the connection pool): one allocation, no locale calls.
  char port_text[8];
  const auto port_end = std::to_chars(port_text, port_text + sizeof port_text, port()).ptr;
  const bool bracket = host_.find(':') != std::string::npos;
  std::string o;
  o.reserve(scheme_.size() + 3 + host_.size() + 2 + 1 + 5);
  o += scheme_;
  o += "://";
  if (bracket) o += '[';
  const std::size_t host_at = o.size();
  o += host_;
  for (std::size_t i = host_at; i < o.size(); ++i) {
    if (o[i] >= 'A' && o[i] <= 'Z') o[i] = static_cast<char>(o[i] - 'A' + 'a');
  }
  if (bracket) o += ']';
  o += ':';
  o.append(port_text, port_end);
  return o;
}

std::string uri::authority() const {
  std::string a = host_for_authority(host_);
  bool is_default = port_ == 0 || ((scheme_ == "http" || scheme_ == "ws") && port_ == 80) ||
                    ((scheme_ == "https" || scheme_ == "wss") && port_ == 443);
  if (!is_default) (a += ':') += std::to_string(port_);
  return a;
}

std::string uri::str() const {
  if (scheme_.empty()) return {};
  std::string s = scheme_ + "://";
  if (!userinfo_.empty()) s += userinfo_ + "@";
  s += host_for_authority(host_);
  if (port_ != 0) (s += ':') += std::to_string(port_);
  s += path_;
  if (has_query_) s += "?" + query_;
  if (has_fragment_) s += "#" + fragment_;
  return s;
}

uri uri::with_path_segment(std::string_view segment) const {
  return with_path_segments({segment});
}

uri uri::with_path_segments(std::initializer_list<std::string_view> segments) const {
  boost::urls::url u(str());
  auto segs = u.segments();
  // "http://h/" has one empty segment; appending should give "/x", not "//x".
  if (!segs.empty() && segs.back().empty()) segs.pop_back();
  for (auto s : segments)
    segs.push_back(s);
  return reparse(u);
}

namespace {
// Percent-encodes all but RFC 3986 unreserved characters. Stricter than the query grammar
// needs: '+', '&', '=' and ';' carry meaning to form decoders on the server.
std::string encode_query_component(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}
}  // namespace

uri uri::with_query_param(std::string_view name, std::string_view value) const {
  uri u = *this;
  if (u.has_query_ && !u.query_.empty()) u.query_ += '&';
  u.has_query_ = true;
  u.query_ += encode_query_component(name);
  u.query_ += '=';
  u.query_ += encode_query_component(value);
  return u;
}

uri uri::with_scheme(std::string_view scheme) const {
  boost::urls::url u(str());
  try {
    u.set_scheme(scheme);
  } catch (const std::exception&) {
    throw_invalid(scheme, "it is not a valid scheme");
  }
  return reparse(u);
}

uri uri::resolve(std::string_view reference) const {
  auto ref = boost::urls::parse_uri_reference(reference);
  if (!ref) {
    throw_invalid(reference, "it is not a valid uri reference (" + ref.error().message() + ")");
  }
  boost::urls::url base(str());
  boost::urls::url out;
  auto r = boost::urls::resolve(base, *ref, out);
  if (!r) throw_invalid(reference, "it cannot be resolved against " + str());
  return reparse(out);
}

}  // namespace courier
