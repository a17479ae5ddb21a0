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
  struct parts {
    std::string_view scheme, userinfo, host, path, query, fragment;
    bool has_query = false, has_fragment = false;
    std::uint16_t port = 0;
  };

  // Lays the components out in one buffer. nullopt (and `why`) when they would not fit the
  // 32-bit offsets: 4 GiB of uri.
  static std::optional<uri> assemble(const parts& p, std::string* why) {
    const std::array<std::string_view, 6> pieces{p.scheme, p.userinfo, p.host,
                                                 p.path,   p.query,    p.fragment};
    std::size_t total = 0;
    for (std::string_view piece : pieces)
      total += piece.size();
    if (total > UINT32_MAX) {
      if (why) *why = "it is longer than 4 GiB";
      return std::nullopt;
    }
    uri u;
    if (total > 0) {
      std::shared_ptr<char[]> text = std::make_shared<char[]>(total);
      std::uint32_t at = 0;
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        std::char_traits<char>::copy(text.get() + at, pieces[i].data(), pieces[i].size());
        at += static_cast<std::uint32_t>(pieces[i].size());
        u.ends_[i] = at;
      }
      u.text_ = std::move(text);
    }
    u.has_query_ = p.has_query;
    u.has_fragment_ = p.has_fragment;
    u.port_ = p.port;
    return u;
  }

  static parts parts_of(const uri& u) {
    return {u.scheme(),
            u.userinfo(),
            u.host(),
            u.part(uri::path_part),
            u.part(uri::query_part),
            u.part(uri::fragment_part),
            u.has_query_,
            u.has_fragment_,
            u.port_};
  }

  static std::optional<uri> from_view(boost::urls::url_view v, std::string* why) {
    parts p;
    std::string scheme(v.scheme());
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    p.scheme = scheme;
    if (!v.has_authority() || v.encoded_host().empty()) {
      if (why) *why = "it has no host";
      return std::nullopt;
    }
    std::string_view host = v.encoded_host();
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    p.host = host;
    if (v.has_port()) {
      auto port = v.port();
      unsigned value = 0;
      auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
      if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 ||
          value > 65535) {
        if (why) *why = "its port \"" + std::string(port) + "\" is not a number from 1 to 65535";
        return std::nullopt;
      }
      p.port = static_cast<std::uint16_t>(value);
    }
    p.userinfo = v.encoded_userinfo();
    p.path = v.encoded_path();
    // RFC 3986 3.3: after an authority the path is empty or starts with "/". Boost.URL 1.81
    // accepts "http://@a@b/" as host "a" and path "@b/", which would print as host "b".
    if (!p.path.empty() && p.path.front() != '/') {
      if (why) {
        *why = "its path \"" + std::string(p.path.substr(0, 64)) + "\" does not start with \"/\"";
      }
      return std::nullopt;
    }
    p.has_query = v.has_query();
    if (p.has_query) p.query = v.encoded_query();
    p.has_fragment = v.has_fragment();
    if (p.has_fragment) p.fragment = v.encoded_fragment();
    return assemble(p, why);
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
  const std::string_view s = scheme();
  if (s == "https" || s == "wss") return 443;
  if (s == "http" || s == "ws") return 80;
  return 0;
}

std::optional<std::string_view> uri::query() const noexcept {
  if (!has_query_) return std::nullopt;
  return part(query_part);
}

std::optional<std::string_view> uri::fragment() const noexcept {
  if (!has_fragment_) return std::nullopt;
  return part(fragment_part);
}

bool uri::is_secure() const noexcept {
  const std::string_view s = scheme();
  return s == "https" || s == "wss";
}

COURIER_HOT std::string uri::target() const {
  const std::string_view p = path();
  if (!has_query_) return std::string(p);
  const std::string_view q = part(query_part);
  std::string t;
  t.reserve(p.size() + 1 + q.size());
  t.append(p).append(1, '?').append(q);
  return t;
}

namespace {
std::string host_for_authority(std::string_view host) {
  std::string out;
  if (host.find(':') == std::string_view::npos) return out.append(host);
  return out.append(1, '[').append(host).append(1, ']');
}
}  // namespace

COURIER_HOT std::string uri::origin() const {
  // Built once per request (it keys the connection pool): one allocation, no locale calls.
  char port_text[8];
  const auto port_end = std::to_chars(port_text, port_text + sizeof port_text, port()).ptr;
  const std::string_view scheme = this->scheme(), host = this->host();
  const bool bracket = is_ipv6_host();
  std::string o;
  o.reserve(scheme.size() + 3 + host.size() + 2 + 1 + 5);
  o += scheme;
  o += "://";
  if (bracket) o += '[';
  const std::size_t host_at = o.size();
  o += host;
  for (std::size_t i = host_at; i < o.size(); ++i) {
    if (o[i] >= 'A' && o[i] <= 'Z') o[i] = static_cast<char>(o[i] - 'A' + 'a');
  }
  if (bracket) o += ']';
  o += ':';
  o.append(port_text, port_end);
  return o;
}

std::string uri::authority() const {
  std::string a = host_for_authority(host());
  const std::string_view s = scheme();
  bool is_default = port_ == 0 || ((s == "http" || s == "ws") && port_ == 80) ||
                    ((s == "https" || s == "wss") && port_ == 443);
  if (!is_default) (a += ':') += std::to_string(port_);
  return a;
}

std::string uri::str() const {
  if (scheme().empty()) return {};
  std::string s(scheme());
  s += "://";
  if (!userinfo().empty()) s.append(userinfo()).append(1, '@');
  s += host_for_authority(host());
  if (port_ != 0) (s += ':') += std::to_string(port_);
  s += part(path_part);
  if (has_query_) s.append(1, '?').append(part(query_part));
  if (has_fragment_) s.append(1, '#').append(part(fragment_part));
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
  uri_access::parts p = uri_access::parts_of(*this);
  std::string query(p.query);
  if (p.has_query && !query.empty()) query += '&';
  query += encode_query_component(name);
  query += '=';
  query += encode_query_component(value);
  p.query = query;
  p.has_query = true;
  std::string why;
  auto u = uri_access::assemble(p, &why);
  if (!u) throw_invalid(str().substr(0, 200), why);
  return std::move(*u);
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
