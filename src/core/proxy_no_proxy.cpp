// NO_PROXY matching, following curl: "*" matches everything; a name matches itself and its
// subdomains (a leading dot is ignored); an IP literal matches itself; a CIDR range matches
// the addresses inside it.
#include <courier/proxy.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>

namespace courier {
namespace {

struct ip_address {
  int family = 0;  // AF_INET or AF_INET6
  std::array<unsigned char, 16> bytes{};
  std::size_t size() const { return family == AF_INET ? 4 : 16; }
};

std::optional<ip_address> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string s(text);
  ip_address a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

bool in_range(const ip_address& addr, const ip_address& net, unsigned prefix) {
  if (addr.family != net.family) return false;
  const unsigned bits = static_cast<unsigned>(net.size()) * 8;
  if (prefix > bits) return false;
  const unsigned whole = prefix / 8, rest = prefix % 8;
  if (std::memcmp(addr.bytes.data(), net.bytes.data(), whole) != 0) return false;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (addr.bytes[whole] & mask) == (net.bytes[whole] & mask);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view strip_trailing_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

bool entry_matches(std::string_view entry, std::string_view host,
                   const std::optional<ip_address>& host_ip) {
  if (entry == "*") return true;
  if (auto slash = entry.find('/'); slash != std::string_view::npos) {
    auto net = parse_ip(entry.substr(0, slash));
    auto bits_text = entry.substr(slash + 1);
    unsigned prefix = 0;
    auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), prefix);
    if (!net || !host_ip || ec != std::errc{} || end != bits_text.data() + bits_text.size()) {
      return false;  // a malformed range names nothing (as in curl)
    }
    return in_range(*host_ip, *net, prefix);
  }
  if (auto entry_ip = parse_ip(entry)) {
    return host_ip && host_ip->family == entry_ip->family &&
           std::memcmp(host_ip->bytes.data(), entry_ip->bytes.data(), host_ip->size()) == 0;
  }
  if (host_ip) return false;  // a name never matches an address
  std::string name = lower(strip_trailing_dot(entry));
  if (!name.empty() && name.front() == '.') name.erase(0, 1);
  if (name.empty()) return false;
  std::string h = lower(strip_trailing_dot(host));
  if (h == name) return true;
  return h.size() > name.size() && h.ends_with(name) && h[h.size() - name.size() - 1] == '.';
}

}  // namespace

bool no_proxy_matches(std::string_view no_proxy, std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const auto host_ip = parse_ip(host);
  std::size_t i = 0;
  while (i < no_proxy.size()) {
    auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t'; };
    while (i < no_proxy.size() && is_sep(no_proxy[i]))
      ++i;
    std::size_t start = i;
    while (i < no_proxy.size() && !is_sep(no_proxy[i]))
      ++i;
    if (i > start && entry_matches(no_proxy.substr(start, i - start), host, host_ip)) return true;
  }
  return false;
}

}  // namespace courier
