#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/uri.hpp>
#include "core/hot_path.hpp"
#include "core/quoted_input.hpp"

#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>

namespace courier {

namespace {

// Why Boost.URL rejected `text`, as a sentence that names the part and the offset of the first
// byte RFC 3986 does not allow there. Runs only after a failed parse: the accept/reject decision
// stays Boost.URL's; this only explains it (its own error words, "mismatch" or "leftover",
// say neither what nor where).
class uri_diagnosis {
 public:
  uri_diagnosis(std::string_view text, bool reference) : text_(text), reference_(reference) {}

  // The sentence for a text Boost.URL rejected: the first fault found, else a general one.
  std::string explain() const {
    if (auto why = find(); !why.empty()) return why;
    return reference_ ? "it is not a valid uri reference" : "it is not a valid absolute uri";
  }

  // The first fault found, or empty. Also run on some texts Boost.URL 1.81 accepts by reading
  // the authority short ("http://h:8o/" as port 8 and path "o/").
  std::string find() const {
    std::size_t at = 0;
    const std::size_t colon = text_.find(':');
    const std::size_t first_delimiter = text_.find_first_of("/?#");
    if (colon != std::string_view::npos && colon < first_delimiter) {
      if (auto why = scheme(text_.substr(0, colon)); !why.empty()) return why;
      at = colon + 1;
    }
    if (text_.substr(at, 2) == "//") {
      const std::size_t end = std::min(text_.find_first_of("/?#", at + 2), text_.size());
      if (auto why = authority(at + 2, end); !why.empty()) return why;
      at = end;
    }
    const std::size_t path_end = std::min(text_.find_first_of("?#", at), text_.size());
    if (auto why = chars(at, path_end, ":@/", "path"); !why.empty()) return why;
    at = path_end;
    if (at < text_.size() && text_[at] == '?') {
      const std::size_t query_end = std::min(text_.find('#', at), text_.size());
      if (auto why = chars(at + 1, query_end, ":@/?", "query"); !why.empty()) return why;
      at = query_end;
    }
    if (at < text_.size()) {
      if (auto why = chars(at + 1, text_.size(), ":@/?", "fragment"); !why.empty()) return why;
    }
    return {};
  }

  // Empty when `s` is a valid scheme.
  static std::string scheme(std::string_view s) {
    bool valid = !s.empty() && is_alpha(s.front());
    for (std::size_t i = 1; valid && i < s.size(); ++i) {
      valid = is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.';
    }
    if (!valid) {
      return "its scheme " + detail::quoted_input(s, 64) +
             " is not a letter followed by letters, digits, '+', '-' or '.'";
    }
    return {};
  }

 private:
  static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  static bool is_unreserved(char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
  }
  static bool is_sub_delim(char c) {
    return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
  }

  static std::string describe(char ch) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ') return "a space";
    if (c == '\t') return "a tab";
    if (c < 0x20 || c >= 0x7f) return "the byte " + detail::escaped_input(std::string_view(&ch, 1));
    if (c == '\'') return "\"'\"";
    return std::string("'") + ch + "'";
  }

  static std::string percent_encoded(char ch) {
    static constexpr char hex[] = "0123456789ABCDEF";
    const auto c = static_cast<unsigned char>(ch);
    return {'%', hex[c >> 4], hex[c & 15]};
  }

  // The first byte of [from, to) that is neither unreserved, a sub-delim, in `extra`, nor part
  // of a well-formed %XX; empty when there is none.
  std::string chars(std::size_t from, std::size_t to, std::string_view extra,
                    const char* part) const {
    for (std::size_t i = from; i < to; ++i) {
      const char c = text_[i];
      if (c == '%') {
        if (i + 2 < to && is_hex(text_[i + 1]) && is_hex(text_[i + 2])) {
          i += 2;
          continue;
        }
        return std::string("the ") + part + " has a '%' at offset " + std::to_string(i) +
               " that is not followed by two hex digits (write a '%' itself as %25)";
      }
      if (is_unreserved(c) || is_sub_delim(c) || extra.find(c) != std::string_view::npos) continue;
      std::string why = std::string("the ") + part + " holds " + describe(c) + " at offset " +
                        std::to_string(i) + "; percent-encode it as " + percent_encoded(c);
      if (std::string_view(part) == "path") why += " or add the segment with with_path_segment()";
      if (std::string_view(part) == "query") why += " or add the parameter with with_query_param()";
      return why;
    }
    return {};
  }

  std::string authority(std::size_t from, std::size_t end) const {
    std::size_t at = from;
    if (const std::size_t sign = text_.find('@', from); sign < end) {
      if (auto why = chars(from, sign, ":", "user info"); !why.empty()) return why;
      at = sign + 1;
    }
    std::size_t port_at = std::string_view::npos;
    if (at < end && text_[at] == '[') {
      const std::size_t close = text_.find(']', at);
      if (close == std::string_view::npos || close > end) {
        return "the IPv6 address is not closed with ']'";
      }
      const std::string_view inside = text_.substr(at + 1, close - at - 1);
      if (!inside.empty() && (inside.front() == 'v' || inside.front() == 'V')) {
        return "the address " + detail::quoted_input(text_.substr(at, close - at + 1), 64) +
               " is not a valid IPvFuture literal";
      }
      if (!boost::urls::parse_ipv6_address(inside)) {
        return "the IPv6 address " + detail::quoted_input(text_.substr(at, close - at + 1), 64) +
               " is not valid";
      }
      if (close + 1 < end && text_[close + 1] != ':') {
        return "the IPv6 address is followed by " + describe(text_[close + 1]) + " at offset " +
               std::to_string(close + 1) + "; only a ':' and a port may follow ']'";
      }
      if (close + 1 < end) port_at = close + 2;
    } else {
      const std::size_t colon = text_.find(':', at);
      const std::size_t host_end = std::min(colon, end);
      for (std::size_t i = at; i < host_end; ++i) {
        const char c = text_[i];
        if (c == '%' && i + 2 < host_end && is_hex(text_[i + 1]) && is_hex(text_[i + 2])) {
          i += 2;
        } else if (!is_unreserved(c) && !is_sub_delim(c)) {
          return "the host holds " + describe(c) + " at offset " + std::to_string(i) +
                 ", which a host name cannot hold";
        }
      }
      if (host_end < end) port_at = host_end + 1;
    }
    if (port_at != std::string_view::npos) {
      const std::string_view port = text_.substr(port_at, end - port_at);
      const auto bad = std::find_if(port.begin(), port.end(), [](char c) { return !is_digit(c); });
      if (bad != port.end()) {
        std::string why = "the port " + detail::quoted_input(port, 64) + " holds " +
                          describe(*bad) + " at offset " +
                          std::to_string(port_at + static_cast<std::size_t>(bad - port.begin())) +
                          "; a port is a number from 1 to 65535";
        if (*bad == ':') why += " (write an IPv6 address in brackets, as in http://[::1]:8080/)";
        return why;
      }
    }
    return {};
  }

  std::string_view text_;
  bool reference_;
};

}  // namespace

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
      if (why) {
        *why = uri_diagnosis(v.buffer(), false).find();
        if (why->empty()) *why = "it has no host";
      }
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
        if (why)
          *why = "its port " + detail::quoted_input(port, 64) + " is not a number from 1 to 65535";
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
        *why = uri_diagnosis(v.buffer(), false).find();
        if (why->empty()) {
          *why = "its path " + detail::quoted_input(p.path, 64) + " does not start with '/'";
        }
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
          *why = "it has no scheme (write it as " +
                 detail::quoted_input("http://" + std::string(text.substr(0, 64))) + ")";
        } else {
          *why = uri_diagnosis(text, false).explain();
        }
      }
      return std::nullopt;
    }
    return from_view(*r, why);
  }
};

namespace {

[[noreturn]] void throw_invalid(std::string_view text, const std::string& why) {
  throw invalid_uri("invalid uri " + detail::quoted_input(text) + ": " + why);
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
  if (auto why = uri_diagnosis::scheme(scheme); !why.empty()) throw_invalid(str(), why);
  u.set_scheme(scheme);
  return reparse(u);
}

uri uri::resolve(std::string_view reference) const {
  auto ref = boost::urls::parse_uri_reference(reference);
  if (!ref) {
    throw_invalid(reference, uri_diagnosis(reference, true).explain());
  }
  boost::urls::url base(str());
  boost::urls::url out;
  auto r = boost::urls::resolve(base, *ref, out);
  if (!r) throw_invalid(reference, "it cannot be resolved against " + str());
  return reparse(out);
}

}  // namespace courier
